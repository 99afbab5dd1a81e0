"""The offline engine: a pure core (mutations, canonical encoding, CRC32, HLC) and its I/O shell."""
