#!/usr/bin/env python
from leadloop.cli import main

if __name__ == "__main__":
    main()
