"""Reading the pickled parts of Keras' data files without ever running code from them.

IMDB's and Reuters' .npz files hold ragged lists as numpy object arrays, which numpy stores
as pickles; CIFAR's batches are pickled dicts of numpy arrays. A pickle names functions to call
and can run anything, so these are read with an unpickler that resolves only the names a numpy
array or numeric scalar is rebuilt from (numpy.ndarray, numpy.dtype, multiarray._reconstruct and
multiarray.scalar, under numpy 1's and numpy 2's module names) and refuses every other one.
Plain containers and scalars (dict, list, tuple, int, float, str, bytes) need no name and load
as usual.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

try:
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct, scalar


def numeric_scalar(dtype, *state):
    """A numpy scalar (an np.int64 in a list of labels) from its dtype and bytes; object
    scalars are refused (they would carry a pickled object)."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise RefusedPickle(f"a numpy scalar of dtype {dtype!r}: only numeric scalars load")
    return scalar(dtype, *state)


ALLOWED = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    ALLOWED[(_module, "_reconstruct")] = _reconstruct
    ALLOWED[(_module, "scalar")] = numeric_scalar


class RefusedPickle(pickle.UnpicklingError):
    pass


class ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise RefusedPickle(f"the file names {module}.{name}, which a data file of plain "
                                "lists and numpy arrays never needs; fnjit refuses to load it "
                                "(the file may be corrupt or malicious)") from None


def load_pickle(fh, encoding="ASCII"):
    """The object pickled in `fh`, refusing any name but numpy's array rebuilders."""
    return ArraysOnlyUnpickler(fh, encoding=encoding).load()


def load_npz(path):
    """A dict of the arrays of the .npz at `path`, object arrays included (read with the
    unpickler above; numeric arrays with numpy's pickle-free reader)."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            fp = io.BytesIO(archive.read(member))
            version = np.lib.format.read_magic(fp)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0  # 3.0 differs from 2.0 in its text only
            _, _, dtype = read_header(fp)
            if dtype.hasobject:
                array = load_pickle(fp, encoding="latin1")
                if not isinstance(array, np.ndarray):
                    raise RefusedPickle(f"member {member} is a pickled "
                                        f"{type(array).__name__}, not a numpy array")
            else:
                fp.seek(0)
                array = np.lib.format.read_array(fp, allow_pickle=False)
            arrays[member[:-len(".npy")]] = array
    return arrays
