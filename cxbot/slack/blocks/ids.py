"""Action, callback and block ids shared by the builders and the listeners."""

APPROVE = "vote_approve"
OBJECT = "vote_object"
ABSTAIN = "vote_abstain"
MORE = "vote_more"            # overflow: approve with a condition, abstain with a note, hold, retract
WITHDRAW = "request_withdraw"
AMEND = "request_amend"
REOPEN = "request_reopen"
RESOLVE = "objection_resolve"
OVERRULE = "objection_overrule"
DECIDE_APPROVE = "chair_approve"
DECIDE_REJECT = "chair_reject"
STILL_APPROVE = "approval_confirm"   # in the DM after an amendment changed the terms
CONDITION_MET = "condition_met"   # the filing side marks an approval's condition met
REVISE = "request_revise"         # file a revision of a withdrawn request
VIEW_RECORD = "request_record"    # open the request's record (its timeline)
GO_LIVE = "request_go_live"       # the filing side says when an approved change went live
FOLLOW_UP = "follow_up_"          # + an answer: the follow-up question's buttons in its DM
DIGEST_NOW = "home_digest_now"    # on the chair's Home: this week's digest so far, by DM
EXPORT_NOW = "home_export_now"    # on the chair's Home: the council's record as a zip, by DM
FILE_IN_COUNCIL = "file_in_council_"   # + n: the n-th council offered to someone who files in several
LIST_PAGE = "list_page"           # `/cx-review list`: the next page
REVIEW_MESSAGE = "cx_review_message"   # the message shortcut "Review with CX council" (manifest.yml)

FILE_VIEW = "cx_file"
AMEND_VIEW = "cx_amend"
VOTE_VIEW = "cx_vote"
OVERRULE_VIEW = "cx_overrule"
DECIDE_VIEW = "cx_decide"
HOLD_VIEW = "cx_hold"
AWAY_VIEW = "cx_away"
REVISE_VIEW = "cx_revise"
GO_LIVE_VIEW = "cx_go_live"
FOLLOW_UP_VIEW = "cx_follow_up"

MORE_APPROVE_NOTE = "approve_note"
MORE_ABSTAIN_NOTE = "abstain_note"
MORE_HOLD = "hold"
MORE_RETRACT = "retract"
