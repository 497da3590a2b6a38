"""A stand-in for torch: the attributes docker/test_image.sh's probe reads."""
import os

_info = open(os.path.join(os.path.dirname(__file__), "build_info.txt")).read().split("\n")
__version__ = _info[0]


class version:
    cuda = _info[1] or None


class cuda:
    @staticmethod
    def is_available():
        return False
