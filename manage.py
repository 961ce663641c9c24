#!/usr/bin/env python
from stocktrace.cli import main

if __name__ == "__main__":
    main()
