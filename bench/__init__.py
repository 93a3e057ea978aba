"""kreader's benchmark suite: ``python -m bench`` (``--quick`` for CI, ``--help`` for the options).

Start-up and memory are measured as whole processes against two baselines run on the same machine in the same
run: the floor (the smallest Textual app that paints one frame) and Textual's own ``MarkdownViewer``. Key
latency, search, the bookmark store and the kiosk's memory are measured in-process. Nothing here is a test:
timings never fail anything.
"""
