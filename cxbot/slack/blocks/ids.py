"""Action, callback and block ids shared by the builders and the listeners."""

APPROVE = "vote_approve"
OBJECT = "vote_object"
ABSTAIN = "vote_abstain"
MORE = "vote_more"            # overflow: approve with a condition, abstain with a note, retract
WITHDRAW = "request_withdraw"

FILE_VIEW = "cx_file"
VOTE_VIEW = "cx_vote"

MORE_APPROVE_NOTE = "approve_note"
MORE_ABSTAIN_NOTE = "abstain_note"
MORE_RETRACT = "retract"
