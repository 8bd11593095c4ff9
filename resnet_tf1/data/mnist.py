"""MNIST: read the IDX files, download them safely, split them as TF1 did.

Two jobs, each kept free of TensorFlow so it can be tested and reused alone:

* Reading. `read_idx_images` / `read_idx_labels` parse the standard IDX
  files (gzip-compressed or not) and refuse anything malformed with a
  `DataError` whose one-line message names the file and the fault, so a bad
  download is reported as such instead of surfacing later as a shape error
  in the graph.
* Downloading. `download_mnist` fetches missing files from a list of
  mirrors, verifies each against `MD5_DIGESTS` and moves it into place
  atomically, so an interrupted or corrupt download never leaves a file that
  looks complete.

`load_mnist` ties reading and downloading together and splits the data the
way TF1's `input_data.read_data_sets` did: the first 5000 training images
are the validation set (`data_set.VALIDATION_SIZE`), the remaining 55000 the
training set, t10k the test set. Batching is in `inputs.py`.
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

import data_set
from resnet_tf1.errors import DataError

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


_GZIP_MAGIC = b'\x1f\x8b'
_CHUNK_BYTES = 1 << 20

Split = collections.namedtuple('Split', 'images labels')
MnistData = collections.namedtuple('MnistData', 'train validation test')


class _ValidationSizeError(DataError, ValueError):
    """A training file with no more images than the validation split takes:
    a DataError for the CLIs' one line, a ValueError as before for code."""


# --------------------------------------------------------------------------
# Reading IDX files


def read_idx_images(path):
    """Reads an IDX image file (magic 2051) into uint8 [N, rows, cols]."""
    return _read_idx(path, IMAGES_MAGIC)


def read_idx_labels(path):
    """Reads an IDX label file (magic 2049) into uint8 [N] digits 0-9."""
    labels = _read_idx(path, LABELS_MAGIC)
    out_of_range = np.flatnonzero(labels >= data_set.NUM_LABELS)
    if out_of_range.size:
        index = int(out_of_range[0])
        raise DataError('%s: label %d at index %d is outside 0-%d' % (
            os.fsdecode(path), labels[index], index,
            data_set.NUM_LABELS - 1))
    return labels


def _read_idx(path, expected_magic):
    name = os.fsdecode(path)
    content = _read_file_content(path)
    if len(content) < 4:
        raise DataError('%s: %d bytes is too short for an IDX header' %
                        (name, len(content)))
    magic = int.from_bytes(content[:4], 'big')
    expected_ndim = expected_magic & 0xFF
    if magic != expected_magic:
        if magic >> 8 == IDX_UBYTE_TYPE:
            raise DataError(
                '%s: magic number %d declares %d dimensions, expected %d '
                '(magic %d)' % (name, magic, magic & 0xFF, expected_ndim,
                                expected_magic))
        raise DataError(
            '%s: magic number %d (0x%08x) is wrong, expected %d (unsigned '
            'bytes, %d dimensions)' % (name, magic, magic, expected_magic,
                                       expected_ndim))

    header_bytes = 4 + 4 * expected_ndim
    if len(content) < header_bytes:
        raise DataError('%s: IDX header is truncated: %d bytes, expected %d'
                        % (name, len(content), header_bytes))
    shape = tuple(int.from_bytes(content[offset:offset + 4], 'big')
                  for offset in range(4, header_bytes, 4))
    # Python ints, so a corrupt header declaring 2**96 bytes cannot overflow.
    declared_bytes = 1
    for size in shape:
        declared_bytes *= size
    payload_bytes = len(content) - header_bytes
    if payload_bytes != declared_bytes:
        verdict = ('file is truncated' if payload_bytes < declared_bytes
                   else 'file has extra bytes')
        raise DataError(
            '%s: payload is %d bytes but the header declares %s = %d: %s' % (
                name, payload_bytes, ' x '.join(map(str, shape)),
                declared_bytes, verdict))
    # Copy: frombuffer over `bytes` is read-only, and callers may edit in
    # place.
    return np.frombuffer(content, np.uint8, count=declared_bytes,
                         offset=header_bytes).reshape(shape).copy()


def _read_file_content(path):
    """Returns the IDX bytes of `path`, decompressed if it is gzip."""
    name = os.fsdecode(path)
    try:
        # A FIFO or device would block open() or read() forever.
        if (not stat.S_ISREG(os.stat(path).st_mode)
                and not os.path.isdir(path)):
            raise DataError('%s: not a regular file' % name)
        with open(path, 'rb') as stream:
            raw = stream.read()
    except FileNotFoundError:
        raise DataError('%s: file does not exist' % name) from None
    except IsADirectoryError:
        raise DataError('%s: is a directory, not a file' % name) from None
    except OSError as error:
        raise DataError('%s: cannot read file: %s' % (
            name, error.strerror or error)) from None
    if not raw:
        raise DataError('%s: file is empty' % name)

    # Sniff rather than trust the name: an uncompressed IDX file starts with
    # two zero bytes, so it can never be mistaken for gzip.
    if raw[:2] != _GZIP_MAGIC:
        if name.endswith('.gz'):
            raise DataError('%s: not a gzip file (starts with 0x%s)' % (
                name, raw[:4].hex()))
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError('%s: gzip stream is truncated' % name) from None
    except (OSError, zlib.error) as error:
        raise DataError('%s: corrupt gzip stream (%s)' % (
            name, error)) from None


# --------------------------------------------------------------------------
# Downloading


def download_mnist(data_dir, mirrors=DEFAULT_MIRRORS, timeout=30,
                   filenames=FILENAMES):
    """Downloads whichever of `filenames` (the four MNIST files by
    default) `data_dir` lacks.

    Each file is fetched from the first mirror that serves a copy matching
    `MD5_DIGESTS`. Files already present are left alone (and not verified:
    reading them validates their structure). Raises DataError if `data_dir`
    cannot be written or a file cannot be had from any mirror.
    """
    if isinstance(mirrors, (str, bytes)):
        raise TypeError('mirrors must be a list of base URLs, not the single '
                        'string %r' % (mirrors,))
    mirrors = list(mirrors)
    if not mirrors:
        raise ValueError('mirrors is empty: give at least one base URL')
    try:
        os.makedirs(data_dir, exist_ok=True)
    except OSError as error:
        raise DataError('%s: cannot create data directory: %s' % (
            os.fsdecode(data_dir), error.strerror or error)) from None
    for filename in filenames:
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
        # rename within one file system, hence atomic: readers see either
        # no file or a verified one.
        try:
            descriptor, temp_path = tempfile.mkstemp(
                dir=data_dir, prefix='.%s.' % filename, suffix='.part')
        except OSError as error:
            raise DataError('%s: cannot write to data directory: %s' % (
                data_dir, error.strerror or error)) from None
        try:
            try:
                gz_md5 = _fetch(url, descriptor, timeout)
            except urllib.error.HTTPError as error:
                failures.append('%s: HTTP %s %s' % (url, error.code,
                                                     error.reason))
                continue
            except urllib.error.URLError as error:
                failures.append('%s: %s' % (url, error.reason))
                continue
            except (OSError, http.client.HTTPException, ValueError) as error:
                failures.append('%s: %s: %s' % (url, type(error).__name__,
                                                error))
                continue
            problem = _digest_problem(temp_path, filename, gz_md5)
            if problem:
                failures.append('%s: %s' % (url, problem))
                continue
            try:
                os.replace(temp_path, destination)
            except OSError as error:
                raise DataError(
                    '%s: cannot move the verified download into place: %s'
                    % (destination, error.strerror or error)) from None
        finally:
            if os.path.exists(temp_path):
                os.remove(temp_path)
        return
    raise DataError('%s: no mirror gave a verified copy: %s' % (
        destination, '; '.join(failures)))


def _fetch(url, descriptor, timeout):
    """Streams `url` into the open file `descriptor`; returns the md5 of
    the bytes.

    md5 here checks integrity against the published digests, not security,
    hence usedforsecurity=False (which keeps it working on FIPS systems).
    """
    digest = hashlib.md5(usedforsecurity=False)
    with os.fdopen(descriptor, 'wb') as output:
        # Some mirrors answer 403 to urllib's default "Python-urllib" agent.
        request = urllib.request.Request(
            url, headers={'User-Agent': 'resnet_tf1-mnist/1.0'})
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
        return ('md5 %s is not the official %s and the file does not '
                'decompress (%s: %s)' % (gz_md5, expected.gz_md5,
                                         type(error).__name__, error))
    if digest.hexdigest() == expected.payload_md5:
        return None
    return 'md5 mismatch: gz %s (official %s), payload %s (official %s)' % (
        gz_md5, expected.gz_md5, digest.hexdigest(), expected.payload_md5)


# --------------------------------------------------------------------------
# Loading and splitting


def load_mnist(data_dir, download=True,
               validation_size=data_set.VALIDATION_SIZE, filenames=FILENAMES):
    """Loads MNIST from `data_dir` as MnistData(train, validation, test).

    Images are float32 [N, 28, 28, 1] in [0, 1]; labels are int64 [N]. As in
    TF1's `read_data_sets`, validation is the first `validation_size`
    training images and train is the rest. Missing files are downloaded if
    `download`, otherwise a DataError names them. `filenames` limits the
    reading to the training pair (load_split); the test split is then
    None.
    """
    validation_size = operator.index(validation_size)
    if validation_size < 0:
        raise ValueError('validation_size must be >= 0, got %d' %
                         validation_size)

    paths = {filename: os.path.join(data_dir, filename)
             for filename in filenames}
    missing = [path for path in paths.values() if not os.path.exists(path)]
    if missing:
        if not download:
            raise DataError('%s: missing and download=False' %
                            ', '.join(missing))
        download_mnist(data_dir, filenames=filenames)

    train_images, train_labels = _read_pair(paths[TRAIN_IMAGES],
                                            paths[TRAIN_LABELS])
    test = None
    if TEST_IMAGES in paths:
        test = Split(*_read_pair(paths[TEST_IMAGES], paths[TEST_LABELS]))
    if validation_size > len(train_images):
        raise _ValidationSizeError(
            '%s: %d images; the validation split takes %d (validation_size '
            'must be between 0 and %d, the number of training images)' % (
                paths[TRAIN_IMAGES], len(train_images), validation_size,
                len(train_images)))
    return MnistData(
        train=Split(train_images[validation_size:],
                    train_labels[validation_size:]),
        validation=Split(train_images[:validation_size],
                         train_labels[:validation_size]),
        test=test)


# The files each split is read from: the test split needs only t10k's.
SPLIT_FILES = {
    'train': (TRAIN_IMAGES, TRAIN_LABELS),
    'validation': (TRAIN_IMAGES, TRAIN_LABELS),
    'test': (TEST_IMAGES, TEST_LABELS),
}


def load_split(data_dir, split_name, download=True,
               validation_size=data_set.VALIDATION_SIZE):
    """One split of MNIST (a Split, as load_mnist's), reading (and, if
    missing and `download`, downloading) only the two files it comes from:
    eval.py's test split never touches the 47 MB of training images."""
    if split_name not in SPLIT_FILES:
        raise ValueError('split_name must be one of %s, got %r' % (
            ', '.join(SPLIT_FILES), split_name))
    if split_name != 'test':
        return getattr(load_mnist(data_dir, download, validation_size,
                                  SPLIT_FILES[split_name]), split_name)
    paths = [os.path.join(data_dir, name) for name in SPLIT_FILES['test']]
    missing = [path for path in paths if not os.path.exists(path)]
    if missing:
        if not download:
            raise DataError('%s: missing and download=False' %
                            ', '.join(missing))
        download_mnist(data_dir, filenames=SPLIT_FILES['test'])
    return Split(*_read_pair(*paths))


def _read_pair(images_path, labels_path):
    """Reads matching image and label files as float32 [N, 28, 28, 1] and
    int64 [N]."""
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    size = data_set.IMAGE_SIZE
    if images.shape[1:] != (size, size):
        raise DataError('%s: images are %dx%d, expected %dx%d' % (
            images_path, images.shape[1], images.shape[2], size, size))
    if len(images) != len(labels):
        raise DataError('%s, %s: %d images but %d labels' % (
            images_path, labels_path, len(images), len(labels)))
    scaled = images.astype(np.float32)
    scaled /= 255  # in place: the train set is 188 MB as float32
    return scaled[..., np.newaxis], labels.astype(np.int64)
