import sys

from cxbot.cli import main

sys.exit(main())
