import sys

from cbmil.cli import main

sys.exit(main())
