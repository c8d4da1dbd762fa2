import sys

from lstmvis_db.cli import main

sys.exit(main())
