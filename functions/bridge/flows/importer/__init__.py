"""Nightly revenue import (issue #5): streams, mapping, checkpoints, chunks, exports, summary."""
