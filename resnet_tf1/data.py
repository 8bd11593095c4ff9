"""MNIST for resnet_tf1: read the IDX files, download them safely, batch them reproducibly.

Three jobs, each kept free of TensorFlow so it can be tested and reused alone:

* Reading. `read_idx_images` / `read_idx_labels` parse the standard IDX files
  (gzip-compressed or not) and refuse anything malformed with a `DataError`
  whose one-line message names the file and the fault, so a bad download is
  reported as such instead of surfacing later as a shape error in the graph.
* Downloading. `download_mnist` fetches missing files from a list of mirrors,
  verifies each against `MD5_DIGESTS` and moves it into place atomically, so
  an interrupted or corrupt download never leaves a file that looks complete.
* Batching. `Batcher.batch(step)` is a pure function of (seed, step), so a run
  resumed from a checkpoint at step k sees exactly the batches an
  uninterrupted run would have seen from step k on.

`load_mnist` ties reading and downloading together and splits the data the way
TF1's `input_data.read_data_sets` did: the first 5000 training images are the
validation set, the remaining 55000 the training set, t10k the test set.
"""

import collections
import gzip
import hashlib
import http.client
import operator
import os
import stat
import tempfile
import urllib.error
import urllib.request
import zlib

import numpy as np

TRAIN_IMAGES = 'train-images-idx3-ubyte.gz'
TRAIN_LABELS = 'train-labels-idx1-ubyte.gz'
TEST_IMAGES = 't10k-images-idx3-ubyte.gz'
TEST_LABELS = 't10k-labels-idx1-ubyte.gz'
FILENAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# Tried in order. The first two are the mirrors torchvision and TF use today;
# LeCun's page is last because it often refuses automated downloads.
DEFAULT_MIRRORS = [
    'https://storage.googleapis.com/cvdf-datasets/mnist/',
    'https://ossci-datasets.s3.amazonaws.com/mnist/',
    'http://yann.lecun.com/exdb/mnist/',
]

FileDigests = collections.namedtuple('FileDigests', 'gz_md5 payload_md5')

# A file is genuine if either digest matches. The .gz digest alone is not
# enough: a mirror (or our own shared copy of the training images) may hold a
# recompressed .gz whose bytes differ while the decompressed IDX payload is
# the official one byte for byte.
MD5_DIGESTS = {
    TRAIN_IMAGES: FileDigests(gz_md5='f68b3c2dcbeaaa9fbdd348bbdeb94873',
                              payload_md5='6bbc9ace898e44ae57da46a324031adb'),
    TRAIN_LABELS: FileDigests(gz_md5='d53e105ee54ea40749a09fcbcd1e9432',
                              payload_md5='a25bea736e30d166cdddb491f175f624'),
    TEST_IMAGES: FileDigests(gz_md5='9fb629c4189551a2d022fa330f9573f3',
                             payload_md5='2646ac647ad5339dbf082846283269ea'),
    TEST_LABELS: FileDigests(gz_md5='ec29112dd5afa0611ce80d1b7f02629c',
                             payload_md5='27ae3e4e09519cfbb04c329615203637'),
}

# IDX magic number = 0x00 0x00, element type (0x08 = unsigned byte), ndim.
IDX_UBYTE_TYPE = 0x08
IMAGES_MAGIC = 0x00000803  # 2051: unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # 2049: unsigned bytes, 1 dimension

IMAGE_SIZE = 28
NUM_CLASSES = 10
DEFAULT_VALIDATION_SIZE = 5000

_GZIP_MAGIC = b'\x1f\x8b'
_CHUNK_BYTES = 1 << 20

Split = collections.namedtuple('Split', 'images labels')
MnistData = collections.namedtuple('MnistData', 'train validation test')


class DataError(Exception):
    """A data file is missing, unreadable or malformed.

    The message is always one line starting with the path at fault, because
    it is what ends up in a training log and must say which file to delete.
    """

    def __init__(self, message):
        super().__init__(' '.join(str(message).splitlines()))


class _ValidationSizeError(DataError, ValueError):
    """A training file with no more images than the validation split takes:
    a DataError for the CLIs' one line, a ValueError as before for code."""


# --------------------------------------------------------------------------
# Reading IDX files


def read_idx_images(path):
    """Reads an IDX image file (magic 2051) into a uint8 array [N, rows, cols]."""
    return _read_idx(path, IMAGES_MAGIC)


def read_idx_labels(path):
    """Reads an IDX label file (magic 2049) into a uint8 array [N] of digits 0-9."""
    labels = _read_idx(path, LABELS_MAGIC)
    out_of_range = np.flatnonzero(labels >= NUM_CLASSES)
    if out_of_range.size:
        index = int(out_of_range[0])
        raise DataError(f'{os.fsdecode(path)}: label {labels[index]} at index {index} '
                        f'is outside 0-{NUM_CLASSES - 1}')
    return labels


def _read_idx(path, expected_magic):
    name = os.fsdecode(path)
    content = _read_file_content(path)
    if len(content) < 4:
        raise DataError(f'{name}: {len(content)} bytes is too short for an IDX header')
    magic = int.from_bytes(content[:4], 'big')
    expected_ndim = expected_magic & 0xFF
    if magic != expected_magic:
        if magic >> 8 == IDX_UBYTE_TYPE:
            raise DataError(f'{name}: magic number {magic} declares {magic & 0xFF} '
                            f'dimensions, expected {expected_ndim} (magic {expected_magic})')
        raise DataError(f'{name}: magic number {magic} (0x{magic:08x}) is wrong, expected '
                        f'{expected_magic} (unsigned bytes, {expected_ndim} dimensions)')

    header_bytes = 4 + 4 * expected_ndim
    if len(content) < header_bytes:
        raise DataError(f'{name}: IDX header is truncated: {len(content)} bytes, '
                        f'expected {header_bytes}')
    shape = tuple(int.from_bytes(content[offset:offset + 4], 'big')
                  for offset in range(4, header_bytes, 4))
    # Python ints, so a corrupt header declaring 2**96 bytes cannot overflow.
    declared_bytes = 1
    for size in shape:
        declared_bytes *= size
    payload_bytes = len(content) - header_bytes
    if payload_bytes != declared_bytes:
        verdict = 'file is truncated' if payload_bytes < declared_bytes else 'file has extra bytes'
        raise DataError(f'{name}: payload is {payload_bytes} bytes but the header declares '
                        f'{" x ".join(map(str, shape))} = {declared_bytes}: {verdict}')
    # Copy: frombuffer over `bytes` is read-only, and callers may edit in place.
    return np.frombuffer(content, np.uint8, count=declared_bytes,
                         offset=header_bytes).reshape(shape).copy()


def _read_file_content(path):
    """Returns the IDX bytes of `path`, decompressed if it is gzip."""
    name = os.fsdecode(path)
    try:
        # A FIFO or device would block open() or read() forever.
        if not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path):
            raise DataError(f'{name}: not a regular file')
        with open(path, 'rb') as stream:
            raw = stream.read()
    except FileNotFoundError:
        raise DataError(f'{name}: file does not exist') from None
    except IsADirectoryError:
        raise DataError(f'{name}: is a directory, not a file') from None
    except OSError as error:
        raise DataError(f'{name}: cannot read file: {error.strerror or error}') from None
    if not raw:
        raise DataError(f'{name}: file is empty')

    # Sniff rather than trust the name: an uncompressed IDX file starts with
    # two zero bytes, so it can never be mistaken for gzip.
    if raw[:2] != _GZIP_MAGIC:
        if name.endswith('.gz'):
            raise DataError(f'{name}: not a gzip file (starts with 0x{raw[:4].hex()})')
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError(f'{name}: gzip stream is truncated') from None
    except (OSError, zlib.error) as error:
        raise DataError(f'{name}: corrupt gzip stream ({error})') from None


# --------------------------------------------------------------------------
# Downloading


def download_mnist(data_dir, mirrors=DEFAULT_MIRRORS, timeout=30):
    """Downloads whichever of the four MNIST files are missing from `data_dir`.

    Each file is fetched from the first mirror that serves a copy matching
    `MD5_DIGESTS`. Files already present are left alone (and not verified:
    reading them validates their structure). Raises DataError if `data_dir`
    cannot be written or a file cannot be had from any mirror.
    """
    if isinstance(mirrors, (str, bytes)):
        raise TypeError(f'mirrors must be a list of base URLs, not the single string {mirrors!r}')
    mirrors = list(mirrors)
    if not mirrors:
        raise ValueError('mirrors is empty: give at least one base URL')
    try:
        os.makedirs(data_dir, exist_ok=True)
    except OSError as error:
        raise DataError(f'{os.fsdecode(data_dir)}: cannot create data directory: '
                        f'{error.strerror or error}') from None
    for filename in FILENAMES:
        destination = os.path.join(data_dir, filename)
        if not os.path.exists(destination):
            _download_verified(filename, destination, mirrors, timeout)


def _download_verified(filename, destination, mirrors, timeout):
    data_dir = os.path.dirname(destination)
    failures = []
    for base_url in mirrors:
        url = base_url if base_url.endswith('/') else base_url + '/'
        url += filename
        # The temp file lives beside the destination so os.replace is a
        # rename within one file system, hence atomic: readers see either no
        # file or a verified one.
        try:
            descriptor, temp_path = tempfile.mkstemp(dir=data_dir, prefix=f'.{filename}.',
                                                     suffix='.part')
        except OSError as error:
            raise DataError(f'{data_dir}: cannot write to data directory: '
                            f'{error.strerror or error}') from None
        try:
            try:
                gz_md5 = _fetch(url, descriptor, timeout)
            except urllib.error.HTTPError as error:
                failures.append(f'{url}: HTTP {error.code} {error.reason}')
                continue
            except urllib.error.URLError as error:
                failures.append(f'{url}: {error.reason}')
                continue
            except (OSError, http.client.HTTPException, ValueError) as error:
                failures.append(f'{url}: {type(error).__name__}: {error}')
                continue
            problem = _digest_problem(temp_path, filename, gz_md5)
            if problem:
                failures.append(f'{url}: {problem}')
                continue
            try:
                os.replace(temp_path, destination)
            except OSError as error:
                raise DataError(f'{destination}: cannot move the verified download into '
                                f'place: {error.strerror or error}') from None
        finally:
            if os.path.exists(temp_path):
                os.remove(temp_path)
        return
    raise DataError(f'{destination}: no mirror gave a verified copy: ' + '; '.join(failures))


def _fetch(url, descriptor, timeout):
    """Streams `url` into the open file `descriptor`; returns the md5 of the bytes.

    md5 here checks integrity against the published digests, not security,
    hence usedforsecurity=False (which keeps it working on FIPS systems).
    """
    digest = hashlib.md5(usedforsecurity=False)
    with os.fdopen(descriptor, 'wb') as output:
        # Some mirrors answer 403 to urllib's default "Python-urllib" agent.
        request = urllib.request.Request(url, headers={'User-Agent': 'resnet_tf1-mnist/1.0'})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            while chunk := response.read(_CHUNK_BYTES):
                digest.update(chunk)
                output.write(chunk)
        output.flush()
        # Durable before the rename, so a crash cannot leave a verified name
        # pointing at unwritten blocks.
        os.fsync(output.fileno())
    return digest.hexdigest()


def _digest_problem(path, filename, gz_md5):
    """Returns None if `path` is a genuine copy of `filename`, else why not."""
    expected = MD5_DIGESTS[filename]
    if gz_md5 == expected.gz_md5:
        return None
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with gzip.open(path, 'rb') as payload:
            while chunk := payload.read(_CHUNK_BYTES):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error) as error:
        return (f'md5 {gz_md5} is not the official {expected.gz_md5} and the file does not '
                f'decompress ({type(error).__name__}: {error})')
    if digest.hexdigest() == expected.payload_md5:
        return None
    return (f'md5 mismatch: gz {gz_md5} (official {expected.gz_md5}), '
            f'payload {digest.hexdigest()} (official {expected.payload_md5})')


# --------------------------------------------------------------------------
# Loading and splitting


def load_mnist(data_dir, download=True, validation_size=DEFAULT_VALIDATION_SIZE):
    """Loads MNIST from `data_dir` as MnistData(train, validation, test) Splits.

    Images are float32 [N, 28, 28, 1] in [0, 1]; labels are int64 [N]. As in
    TF1's `read_data_sets`, validation is the first `validation_size` training
    images and train is the rest. Missing files are downloaded if `download`,
    otherwise a DataError names them.
    """
    validation_size = operator.index(validation_size)
    if validation_size < 0:
        raise ValueError(f'validation_size must be >= 0, got {validation_size}')

    paths = {filename: os.path.join(data_dir, filename) for filename in FILENAMES}
    missing = [path for path in paths.values() if not os.path.exists(path)]
    if missing:
        if not download:
            raise DataError(f'{", ".join(missing)}: missing and download=False')
        download_mnist(data_dir)

    train_images, train_labels = _read_pair(paths[TRAIN_IMAGES], paths[TRAIN_LABELS])
    test_images, test_labels = _read_pair(paths[TEST_IMAGES], paths[TEST_LABELS])
    if validation_size > len(train_images):
        raise _ValidationSizeError(
            f'{paths[TRAIN_IMAGES]}: {len(train_images)} images; the validation split takes '
            f'{validation_size} (validation_size must be between 0 and {len(train_images)}, '
            f'the number of training images)')
    return MnistData(
        train=Split(train_images[validation_size:], train_labels[validation_size:]),
        validation=Split(train_images[:validation_size], train_labels[:validation_size]),
        test=Split(test_images, test_labels))


def _read_pair(images_path, labels_path):
    """Reads matching image and label files as float32 [N, 28, 28, 1] and int64 [N]."""
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f'{images_path}: images are {images.shape[1]}x{images.shape[2]}, '
                        f'expected {IMAGE_SIZE}x{IMAGE_SIZE}')
    if len(images) != len(labels):
        raise DataError(f'{images_path}, {labels_path}: {len(images)} images but '
                        f'{len(labels)} labels')
    scaled = images.astype(np.float32)
    scaled /= 255  # in place: the train set is 188 MB as float32
    return scaled[..., np.newaxis], labels.astype(np.int64)


# --------------------------------------------------------------------------
# Batching


class Batcher:
    """Serves batch `step` of an endless seeded stream of epochs.

    Epoch e is the permutation `np.random.default_rng([seed, e]).permutation(n)`
    and batch `step` is stream positions [step * batch_size, (step + 1) *
    batch_size), so a batch may straddle two epochs. Because a batch depends
    only on (seed, step), resuming at step k replays the uninterrupted run.
    """

    # A straddling batch needs two epochs; keeping both means consecutive
    # steps never recompute a permutation.
    _CACHED_EPOCHS = 2

    def __init__(self, images, labels, batch_size, seed):
        if len(images) != len(labels):
            raise ValueError(f'{len(images)} images but {len(labels)} labels')
        self.images = images
        self.labels = labels
        self.num_examples = len(images)
        self.batch_size = operator.index(batch_size)
        self.seed = operator.index(seed)
        if self.num_examples == 0:
            raise ValueError('cannot batch an empty set of examples')
        if not 1 <= self.batch_size <= self.num_examples:
            raise ValueError(f'batch_size must be between 1 and {self.num_examples} '
                             f'(the number of examples), got {self.batch_size}')
        if self.seed < 0:
            raise ValueError(f'seed must be >= 0, got {self.seed}')
        self._permutations = {}

    def epoch_of(self, step):
        """The epoch holding the first example of batch `step`."""
        return self._check_step(step) * self.batch_size // self.num_examples

    def batch(self, step):
        """Returns (images, labels) of batch `step` (0-based global step)."""
        indices = self.indices(step)
        return self.images[indices], self.labels[indices]

    def indices(self, step):
        """Positions in `images` of batch `step`'s examples, an int64 array."""
        start = self._check_step(step) * self.batch_size
        stop = start + self.batch_size
        first_epoch, offset = divmod(start, self.num_examples)
        indices = self._permutation(first_epoch)[offset:offset + self.batch_size]
        if len(indices) < self.batch_size:
            # batch_size <= num_examples, so the rest fits in the next epoch.
            remainder = stop - (first_epoch + 1) * self.num_examples
            indices = np.concatenate([indices, self._permutation(first_epoch + 1)[:remainder]])
        return indices.astype(np.int64)

    def _check_step(self, step):
        step = operator.index(step)
        if step < 0:
            raise ValueError(f'step must be >= 0, got {step}')
        return step

    def _permutation(self, epoch):
        permutation = self._permutations.get(epoch)
        if permutation is None:
            permutation = np.random.default_rng([self.seed, epoch]).permutation(self.num_examples)
            self._permutations[epoch] = permutation
            if len(self._permutations) > self._CACHED_EPOCHS:
                del self._permutations[next(iter(self._permutations))]
        return permutation
