import sys

from credit_monitor.cli import main

sys.exit(main())
