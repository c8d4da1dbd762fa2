import sys

from lstmvis_db.bench.cli import main

sys.exit(main())
