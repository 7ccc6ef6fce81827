"""`python -m keras_hpt` runs the `keras-hpt` command."""

import sys

from keras_hpt.cli import main

sys.exit(main())
