"""Layers and the functions that walk networks of them (Lasagne's ``lasagne.layers``)."""
from aenet.lasagne.layers.base import *  # noqa: F401,F403
from aenet.lasagne.layers.conv import *  # noqa: F401,F403
from aenet.lasagne.layers.dense import *  # noqa: F401,F403
from aenet.lasagne.layers.embedding import *  # noqa: F401,F403
from aenet.lasagne.layers.helper import *  # noqa: F401,F403
from aenet.lasagne.layers.input import *  # noqa: F401,F403
from aenet.lasagne.layers.local import *  # noqa: F401,F403
from aenet.lasagne.layers.merge import *  # noqa: F401,F403
from aenet.lasagne.layers.noise import *  # noqa: F401,F403
from aenet.lasagne.layers.normalization import *  # noqa: F401,F403
from aenet.lasagne.layers.pool import *  # noqa: F401,F403
from aenet.lasagne.layers.recurrent import *  # noqa: F401,F403
from aenet.lasagne.layers.shape import *  # noqa: F401,F403
from aenet.lasagne.layers.special import *  # noqa: F401,F403
