"""Staff authentication: PIN hashing, lockout policy, JWT issue and verify, node keys.

Pure of storage and HTTP: the composition root hands these the key files and the cached keys.
"""
