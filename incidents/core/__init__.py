"""The log's vocabulary, shared by the domain, the store and the projections.

Envelope types, stream snapshots, the store's errors and the stream-id rules. It imports
nothing else of the project, so every layer can depend on it and it on none of them.
"""
