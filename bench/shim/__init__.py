"""Stand-ins for packages the peers import but that cannot be installed here.

``bench/shim`` (this folder) is put on ``sys.path`` by the benchmark only, so that
``facenet_pytorch`` can be imported without the real torchvision, which has no CPU build that
works with torch 2.13 on this machine. Never used by the app.
"""
