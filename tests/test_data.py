"""Tests for resnet_tf1.data: IDX parsing, verified downloads, MNIST splits,
seeded batching.

Parsing tests write small synthetic IDX files; download tests serve copies of
the shared real MNIST files from a local HTTP server; real-data tests read the
shared copy that CI checks out beside the repository.
"""

import contextlib
import functools
import gzip
import hashlib
import http.server
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event, given, settings, strategies as st

from resnet_tf1 import errors
from resnet_tf1.data import inputs
from resnet_tf1.data import mnist

from conftest import MNIST_DIR as SHARED_MNIST


def idx_bytes(array, magic=None):
    """Uncompressed IDX bytes of a uint8 array; `magic` overrides the
    header's."""
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = (mnist.IDX_UBYTE_TYPE << 8) | array.ndim
    header = struct.pack('>I', magic) + b''.join(
        struct.pack('>I', size) for size in array.shape)
    return header + array.tobytes()


def write_gz(path, content):
    path.write_bytes(gzip.compress(content, mtime=0))
    return path


def random_images(count, rows=28, cols=28, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, rows, cols),
                                                dtype=np.uint8)


def random_labels(count, seed=0):
    return np.random.default_rng(seed).integers(0, 10, count, dtype=np.uint8)


def assert_data_error(call, path, *fragments):
    """Asserts `call()` raises a one-line DataError naming `path` and each
    fragment."""
    with pytest.raises(errors.DataError) as raised:
        call()
    message = str(raised.value)
    assert '\n' not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return message


def write_synthetic_mnist(directory, train_count=12, test_count=4,
                          train_label_count=None):
    """Writes the four MNIST files with random 28x28 content; returns the
    arrays."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        mnist.TRAIN_IMAGES: random_images(train_count, seed=1),
        mnist.TRAIN_LABELS: random_labels(
            train_count if train_label_count is None else train_label_count,
            seed=2),
        mnist.TEST_IMAGES: random_images(test_count, seed=3),
        mnist.TEST_LABELS: random_labels(test_count, seed=4),
    }
    for filename, array in arrays.items():
        write_gz(directory / filename, idx_bytes(array))
    return arrays


# --------------------------------------------------------------------------
# Parsing


def test_images_round_trip_gz_and_raw(tmp_path):
    images = random_images(3, rows=5, cols=7)
    gz_path = write_gz(tmp_path / 'images.gz', idx_bytes(images))
    raw_path = tmp_path / 'images-idx3-ubyte'
    raw_path.write_bytes(idx_bytes(images))
    for path in (gz_path, raw_path):
        parsed = mnist.read_idx_images(path)
        assert parsed.dtype == np.uint8
        np.testing.assert_array_equal(parsed, images)
    assert parsed.flags.writeable


def test_labels_round_trip(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    parsed = mnist.read_idx_labels(write_gz(tmp_path / 'labels.gz',
                                            idx_bytes(labels)))
    assert parsed.dtype == np.uint8
    np.testing.assert_array_equal(parsed, labels)


def test_wrong_magic(tmp_path):
    path = write_gz(tmp_path / 'images.gz', idx_bytes(random_images(2),
                                                      magic=0x12345678))
    assert_data_error(lambda: mnist.read_idx_images(path), path,
                      'magic number', '2051')


def test_labels_file_read_as_images(tmp_path):
    path = write_gz(tmp_path / 'labels.gz', idx_bytes(random_labels(4)))
    assert_data_error(lambda: mnist.read_idx_images(path), path, '2049',
                      'dimensions')


def test_wrong_dimensions(tmp_path):
    # 0x0802 is a valid unsigned-byte IDX header, but with 2 dimensions, not 3.
    path = write_gz(tmp_path / 'images.gz', idx_bytes(random_images(1)[0]))
    assert_data_error(lambda: mnist.read_idx_images(path), path,
                      '2 dimensions', 'expected 3')


def test_truncated_payload(tmp_path):
    content = idx_bytes(random_images(3))
    path = write_gz(tmp_path / 'images.gz', content[:-100])
    assert_data_error(lambda: mnist.read_idx_images(path), path, 'truncated',
                      '3 x 28 x 28')


def test_payload_longer_than_header(tmp_path):
    path = write_gz(tmp_path / 'labels.gz',
                    idx_bytes(random_labels(5)) + b'\x01\x02')
    assert_data_error(lambda: mnist.read_idx_labels(path), path, 'extra bytes')


def test_truncated_header(tmp_path):
    path = write_gz(tmp_path / 'images.gz', idx_bytes(random_images(1))[:10])
    assert_data_error(lambda: mnist.read_idx_images(path), path,
                      'header is truncated')


@pytest.mark.parametrize('keep_fraction', [0.0, 0.5, 0.99])
def test_truncated_gzip_stream(tmp_path, keep_fraction):
    compressed = gzip.compress(idx_bytes(random_images(4)), mtime=0)
    path = tmp_path / 'images.gz'
    path.write_bytes(compressed[:max(3, int(len(compressed) * keep_fraction))])
    assert_data_error(lambda: mnist.read_idx_images(path), path, 'gzip')


def test_corrupt_gzip_stream(tmp_path):
    compressed = bytearray(gzip.compress(idx_bytes(random_labels(1000)),
                                         mtime=0))
    compressed[-6] ^= 0xFF  # inside the CRC32 trailer
    path = tmp_path / 'labels.gz'
    path.write_bytes(bytes(compressed))
    assert_data_error(lambda: mnist.read_idx_labels(path), path,
                      'corrupt gzip')


def test_not_gzip(tmp_path):
    path = tmp_path / 'images.gz'
    path.write_bytes(b'<html>404 Not Found</html>')
    assert_data_error(lambda: mnist.read_idx_images(path), path,
                      'not a gzip file')


def test_empty_file(tmp_path):
    path = tmp_path / 'labels.gz'
    path.write_bytes(b'')
    assert_data_error(lambda: mnist.read_idx_labels(path), path, 'empty')


def test_missing_file(tmp_path):
    path = tmp_path / 'nowhere' / 'labels.gz'
    assert_data_error(lambda: mnist.read_idx_labels(path), path,
                      'does not exist')


def test_directory_instead_of_file(tmp_path):
    assert_data_error(lambda: mnist.read_idx_images(tmp_path), tmp_path,
                      'directory')


def test_fifo_instead_of_file_is_refused_not_waited_on(tmp_path):
    # open() on a FIFO with no writer would block forever: in a subprocess
    # so that a regression fails instead of hanging the suite.
    write_synthetic_mnist(tmp_path)
    path = tmp_path / mnist.TRAIN_LABELS
    path.unlink()
    os.mkfifo(path)
    checked = subprocess.run(
        [sys.executable, '-c', 'import sys\nfrom resnet_tf1 import errors\n'
         'from resnet_tf1.data import mnist\n'
         'try:\n    mnist.load_mnist(sys.argv[1], download=False)\n'
         'except errors.DataError as error:\n    print(error)\n',
         str(tmp_path)], capture_output=True, text=True, timeout=300,
        cwd=Path(__file__).resolve().parents[1])
    assert checked.stdout.strip() == f'{path}: not a regular file', checked


def test_label_out_of_range(tmp_path):
    labels = np.array([0, 1, 2, 3, 4, 11, 6, 12], dtype=np.uint8)
    path = write_gz(tmp_path / 'train-labels-idx1-ubyte.gz', idx_bytes(labels))
    message = assert_data_error(lambda: mnist.read_idx_labels(path), path)
    assert message == f'{path}: label 11 at index 5 is outside 0-9'


def test_data_error_is_one_line():
    error = errors.DataError('a.gz: first\nsecond\r\nthird')
    assert str(error) == 'a.gz: first second third'


# --------------------------------------------------------------------------
# Loading and splitting (synthetic files)


def test_load_mnist_splits_synthetic(tmp_path):
    arrays = write_synthetic_mnist(tmp_path)
    loaded = mnist.load_mnist(tmp_path, download=False, validation_size=5)
    train_images = arrays[mnist.TRAIN_IMAGES].astype(np.float32)
    train_images = train_images[..., None] / 255
    np.testing.assert_array_equal(loaded.validation.images, train_images[:5])
    np.testing.assert_array_equal(loaded.train.images, train_images[5:])
    np.testing.assert_array_equal(loaded.validation.labels,
                                  arrays[mnist.TRAIN_LABELS][:5])
    np.testing.assert_array_equal(loaded.train.labels,
                                  arrays[mnist.TRAIN_LABELS][5:])
    np.testing.assert_array_equal(loaded.test.labels,
                                  arrays[mnist.TEST_LABELS])
    assert loaded.test.images.shape == (4, 28, 28, 1)
    assert loaded.train.images.dtype == np.float32
    assert loaded.train.labels.dtype == np.int64


def test_load_mnist_count_mismatch(tmp_path):
    write_synthetic_mnist(tmp_path, train_count=12, train_label_count=11)
    images_path = tmp_path / mnist.TRAIN_IMAGES
    labels_path = tmp_path / mnist.TRAIN_LABELS
    assert_data_error(lambda: mnist.load_mnist(tmp_path, download=False,
                                               validation_size=2),
                      images_path, str(labels_path), '12 images but 11 labels')


def test_load_mnist_wrong_image_size(tmp_path):
    write_synthetic_mnist(tmp_path)
    path = write_gz(tmp_path / mnist.TEST_IMAGES,
                    idx_bytes(random_images(4, rows=32, cols=32)))
    assert_data_error(lambda: mnist.load_mnist(tmp_path, download=False,
                                               validation_size=2),
                      path, '32x32', '28x28')


def test_load_mnist_missing_without_download(tmp_path):
    write_synthetic_mnist(tmp_path)
    missing = tmp_path / mnist.TEST_LABELS
    missing.unlink()
    assert_data_error(lambda: mnist.load_mnist(tmp_path, download=False),
                      missing, 'download=False')


def test_load_mnist_downloads_only_when_missing(tmp_path, monkeypatch):
    source = tmp_path / 'source'
    write_synthetic_mnist(source)
    calls = []

    def fake_download(data_dir, *args, **kwargs):
        calls.append(data_dir)
        for filename in mnist.FILENAMES:
            shutil.copyfile(source / filename, Path(data_dir) / filename)

    monkeypatch.setattr(mnist, 'download_mnist', fake_download)
    target = tmp_path / 'target'
    target.mkdir()
    mnist.load_mnist(target, validation_size=2)
    assert calls == [target]
    mnist.load_mnist(target, validation_size=2)
    assert calls == [target]


@pytest.mark.parametrize('validation_size', [-1, 13])
def test_load_mnist_validation_size_range(tmp_path, validation_size):
    write_synthetic_mnist(tmp_path, train_count=12)
    with pytest.raises(ValueError, match='validation_size'):
        mnist.load_mnist(tmp_path, download=False,
                         validation_size=validation_size)


def test_load_mnist_whole_train_set_as_validation(tmp_path):
    write_synthetic_mnist(tmp_path, train_count=12)
    loaded = mnist.load_mnist(tmp_path, download=False, validation_size=12)
    assert len(loaded.train.images) == 0
    assert len(loaded.validation.images) == 12


# --------------------------------------------------------------------------
# Real data


@pytest.fixture(scope='module')
def shared_mnist_dir():
    # CI has ../shared beside the clone: a missing copy is a failure, not a
    # skip.
    missing = [name for name in mnist.FILENAMES
               if not (SHARED_MNIST / name).is_file()]
    assert not missing, f'real MNIST not found at {SHARED_MNIST}: {missing}'
    return SHARED_MNIST


@pytest.fixture(scope='module')
def real_mnist(shared_mnist_dir):
    return mnist.load_mnist(shared_mnist_dir, download=False)


def test_real_mnist_shapes_and_ranges(real_mnist):
    for split, count in zip(real_mnist, (55000, 5000, 10000)):
        assert split.images.shape == (count, 28, 28, 1)
        assert split.images.dtype == np.float32
        assert split.labels.shape == (count,)
        assert split.labels.dtype == np.int64
        assert split.images.min() == 0.0 and split.images.max() == 1.0
        assert set(np.unique(split.labels)) == set(range(10))


def test_real_mnist_validation_is_first_5000(real_mnist, shared_mnist_dir):
    raw_images = mnist.read_idx_images(shared_mnist_dir / mnist.TRAIN_IMAGES)
    raw_labels = mnist.read_idx_labels(shared_mnist_dir / mnist.TRAIN_LABELS)
    expected = raw_images.astype(np.float32)[..., None] / np.float32(255)
    np.testing.assert_array_equal(real_mnist.validation.images,
                                  expected[:5000])
    np.testing.assert_array_equal(real_mnist.train.images, expected[5000:])
    np.testing.assert_array_equal(real_mnist.validation.labels,
                                  raw_labels[:5000])
    np.testing.assert_array_equal(real_mnist.train.labels, raw_labels[5000:])


def test_shared_files_match_digest_table(shared_mnist_dir):
    for filename in mnist.FILENAMES:
        content = (shared_mnist_dir / filename).read_bytes()
        digests = mnist.MD5_DIGESTS[filename]
        gz_md5 = hashlib.md5(content).hexdigest()
        payload_md5 = hashlib.md5(gzip.decompress(content)).hexdigest()
        assert (digests.gz_md5 == gz_md5
                or digests.payload_md5 == payload_md5), filename
    # The shared training images were recompressed: only the payload matches.
    train_images = (shared_mnist_dir / mnist.TRAIN_IMAGES).read_bytes()
    assert (hashlib.md5(train_images).hexdigest() !=
            mnist.MD5_DIGESTS[mnist.TRAIN_IMAGES].gz_md5)


# --------------------------------------------------------------------------
# Downloading from a local HTTP server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep pytest output clean
        pass


@contextlib.contextmanager
def serve_directory(directory):
    """Serves `directory` over HTTP on 127.0.0.1; yields its base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}/'
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def no_proxy_for_localhost(monkeypatch):
    # urllib honours *_proxy variables; a CI proxy must not intercept
    # 127.0.0.1.
    for variable in ('http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY'):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(scope='module')
def good_mirror_dir(shared_mnist_dir, tmp_path_factory):
    directory = tmp_path_factory.mktemp('good_mirror')
    for filename in mnist.FILENAMES:
        shutil.copyfile(shared_mnist_dir / filename, directory / filename)
    return directory


@pytest.fixture(scope='module')
def good_mirror(good_mirror_dir):
    with serve_directory(good_mirror_dir) as url:
        yield url


def make_corrupt_mirror(directory, filename, corruption):
    """A mirror holding only a corrupt copy of `filename`."""
    directory.mkdir()
    good = (SHARED_MNIST / filename).read_bytes()
    if corruption == 'truncated':
        bad = good[:len(good) // 2]
    elif corruption == 'wrong payload':
        bad = gzip.compress(gzip.decompress(good)[:-1] + b'\x07',
                            compresslevel=1, mtime=0)
    else:
        bad = b'<html>Service Unavailable</html>'
    (directory / filename).write_bytes(bad)
    return directory


def prefill(data_dir, good_mirror_dir, except_filename):
    """Copies all files but one into `data_dir`, so only that one is
    downloaded."""
    data_dir.mkdir()
    for filename in mnist.FILENAMES:
        if filename != except_filename:
            shutil.copyfile(good_mirror_dir / filename, data_dir / filename)


def test_download_all_files(tmp_path, good_mirror, good_mirror_dir):
    data_dir = tmp_path / 'new' / 'MNIST_data'  # created by download_mnist
    mnist.download_mnist(data_dir, mirrors=[good_mirror], timeout=10)
    assert (sorted(p.name for p in data_dir.iterdir()) ==
            sorted(mnist.FILENAMES))
    for filename in mnist.FILENAMES:
        assert ((data_dir / filename).read_bytes() ==
                (good_mirror_dir / filename).read_bytes())
    assert mnist.read_idx_images(
        data_dir / mnist.TEST_IMAGES).shape == (10000, 28, 28)


@pytest.mark.parametrize('corruption', ['truncated', 'wrong payload',
                                        'html page'])
def test_download_skips_corrupt_mirror(tmp_path, good_mirror, good_mirror_dir,
                                       corruption):
    filename = mnist.TRAIN_LABELS
    bad_dir = make_corrupt_mirror(tmp_path / 'bad', filename, corruption)
    data_dir = tmp_path / 'data'
    prefill(data_dir, good_mirror_dir, except_filename=filename)
    with serve_directory(bad_dir) as bad_mirror:
        mnist.download_mnist(data_dir, mirrors=[bad_mirror, good_mirror],
                             timeout=10)
    assert ((data_dir / filename).read_bytes() ==
            (good_mirror_dir / filename).read_bytes())
    assert (sorted(p.name for p in data_dir.iterdir()) ==
            sorted(mnist.FILENAMES))


def test_download_fails_when_every_mirror_is_corrupt(tmp_path,
                                                     good_mirror_dir):
    filename = mnist.TEST_IMAGES
    data_dir = tmp_path / 'data'
    prefill(data_dir, good_mirror_dir, except_filename=filename)
    bad_dir = make_corrupt_mirror(tmp_path / 'bad', filename, 'wrong payload')
    with serve_directory(bad_dir) as bad_mirror:
        message = assert_data_error(
            lambda: mnist.download_mnist(
                data_dir, mirrors=[bad_mirror, bad_mirror + 'missing/'],
                                        timeout=10),
            data_dir / filename, 'md5 mismatch', 'HTTP 404')
    assert bad_mirror in message
    # Neither the final file nor a temp file is left behind.
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(
        name for name in mnist.FILENAMES if name != filename)


def test_download_survives_unreachable_mirror(tmp_path, good_mirror,
                                              good_mirror_dir):
    data_dir = tmp_path / 'data'
    prefill(data_dir, good_mirror_dir, except_filename=mnist.TEST_LABELS)
    # Port 1 on localhost refuses connections immediately.
    mnist.download_mnist(data_dir, mirrors=['http://127.0.0.1:1/',
                                            good_mirror], timeout=10)
    assert (data_dir / mnist.TEST_LABELS).is_file()


def test_download_leaves_present_files_alone(tmp_path):
    data_dir = tmp_path / 'data'
    data_dir.mkdir()
    for filename in mnist.FILENAMES:
        (data_dir / filename).write_bytes(b'not checked here')
    mnist.download_mnist(data_dir, mirrors=['http://127.0.0.1:1/'], timeout=1)
    assert (data_dir / mnist.TRAIN_IMAGES).read_bytes() == b'not checked here'


def test_download_into_unwritable_directory(tmp_path):
    # A path under a regular file cannot be created, even by root.
    blocker = tmp_path / 'blocker'
    blocker.write_bytes(b'')
    data_dir = blocker / 'MNIST_data'
    assert_data_error(lambda: mnist.download_mnist(data_dir,
                                                   mirrors=['http://127.0.0.1:1/']),
                      data_dir, 'cannot create')


def test_download_rejects_single_string_mirror(tmp_path):
    with pytest.raises(TypeError, match='list of base URLs'):
        mnist.download_mnist(tmp_path, mirrors='http://127.0.0.1:1/')


def test_default_mirrors_and_filenames():
    assert all(url.endswith('/') for url in mnist.DEFAULT_MIRRORS)
    assert set(mnist.FILENAMES) == set(mnist.MD5_DIGESTS)
    assert mnist.MD5_DIGESTS[mnist.TRAIN_IMAGES] == (
        'f68b3c2dcbeaaa9fbdd348bbdeb94873', '6bbc9ace898e44ae57da46a324031adb')


# --------------------------------------------------------------------------
# Batching


def stream_batch(num_examples, batch_size, seed, step):
    """The batch indices by the definition: slice the concatenated epochs."""
    last_epoch = (step + 1) * batch_size // num_examples
    stream = np.concatenate([np.random.default_rng([seed,
                                                    epoch]).permutation(num_examples)
                             for epoch in range(last_epoch + 1)])
    return stream[step * batch_size:(step + 1) * batch_size]


@pytest.fixture
def examples():
    num_examples = 23
    images = np.arange(num_examples, dtype=np.float32).reshape(num_examples, 1,
                                                               1, 1)
    labels = np.arange(num_examples, dtype=np.int64)
    return images, labels


def test_batches_follow_the_stream_definition(examples):
    images, labels = examples
    batcher = inputs.Batcher(images, labels, batch_size=5, seed=3)
    for step in range(40):
        batch_images, batch_labels = batcher.batch(step)
        expected = stream_batch(23, 5, 3, step)
        np.testing.assert_array_equal(batch_labels, expected)
        np.testing.assert_array_equal(batch_images[:, 0, 0, 0],
                                      expected.astype(np.float32))


def test_same_seed_same_batches_different_seed_differs(examples):
    first = inputs.Batcher(*examples, batch_size=4, seed=7)
    second = inputs.Batcher(*examples, batch_size=4, seed=7)
    other = inputs.Batcher(*examples, batch_size=4, seed=8)
    for step in range(12):
        np.testing.assert_array_equal(first.batch(step)[1],
                                      second.batch(step)[1])
    assert any(not np.array_equal(first.batch(step)[1], other.batch(step)[1])
               for step in range(12))


def test_batch_independent_of_call_order(examples):
    in_order = inputs.Batcher(*examples, batch_size=6, seed=1)
    expected = {step: in_order.batch(step)[1] for step in range(30)}
    resumed = inputs.Batcher(*examples, batch_size=6, seed=1)
    for step in [17, 3, 29, 0, 18, 17, 4, 25]:
        np.testing.assert_array_equal(resumed.batch(step)[1], expected[step])


def test_each_epoch_covers_every_example_once(examples):
    # batch_size divides 23 only when 1 or 23; use 23 to check whole epochs.
    batcher = inputs.Batcher(*examples, batch_size=23, seed=5)
    for epoch in range(4):
        labels = batcher.batch(epoch)[1]
        assert sorted(labels.tolist()) == list(range(23))
        assert batcher.epoch_of(epoch) == epoch
    assert not np.array_equal(batcher.batch(0)[1], batcher.batch(1)[1])


def test_straddling_batch(examples):
    batcher = inputs.Batcher(*examples, batch_size=5, seed=2)
    # Step 4 covers stream positions 20..24: 3 from epoch 0, 2 from epoch 1.
    labels = batcher.batch(4)[1]
    epoch0 = np.random.default_rng([2, 0]).permutation(23)
    epoch1 = np.random.default_rng([2, 1]).permutation(23)
    np.testing.assert_array_equal(labels, np.concatenate([epoch0[20:],
                                                          epoch1[:2]]))
    assert batcher.epoch_of(4) == 0 and batcher.epoch_of(5) == 1
    # Over a whole number of epochs the stream is a multiset of full epochs.
    seen = np.concatenate([batcher.batch(step)[1] for step in range(23)])
    assert np.bincount(seen, minlength=23).tolist() == [5] * 23


def test_batcher_caches_the_permutation(examples, monkeypatch):
    batcher = inputs.Batcher(*examples, batch_size=5, seed=0)
    batcher.batch(0)
    calls = []
    real_default_rng = np.random.default_rng
    monkeypatch.setattr(np.random, 'default_rng',
                        lambda seed: (calls.append(seed) or
                                      real_default_rng(seed)))
    for step in range(1, 4):  # all within epoch 0
        batcher.batch(step)
    assert calls == []
    batcher.batch(4)  # straddles into epoch 1: one new permutation
    batcher.batch(5)
    assert calls == [[0, 1]]


@pytest.mark.parametrize('batch_size', [0, -1, 24])
def test_batcher_rejects_bad_batch_size(examples, batch_size):
    with pytest.raises(ValueError,
                       match='batch_size must be between 1 and 23'):
        inputs.Batcher(*examples, batch_size=batch_size, seed=0)


def test_batcher_rejects_bad_arguments(examples):
    images, labels = examples
    with pytest.raises(ValueError, match='labels'):
        inputs.Batcher(images, labels[:-1], batch_size=2, seed=0)
    with pytest.raises(ValueError, match='seed'):
        inputs.Batcher(images, labels, batch_size=2, seed=-1)
    with pytest.raises(ValueError, match='step'):
        inputs.Batcher(images, labels, batch_size=2, seed=0).batch(-1)


def test_batcher_on_real_training_set(real_mnist):
    batcher = inputs.Batcher(real_mnist.train.images, real_mnist.train.labels,
                             128, seed=0)
    # Step 429 straddles epochs 0 and 1 (55000 = 429 * 128 + 88).
    images, labels = batcher.batch(429)
    assert images.shape == (128, 28, 28, 1) and labels.shape == (128,)
    assert batcher.epoch_of(429) == 0 and batcher.epoch_of(430) == 1


# --------------------------------------------------------------------------
# --random_shift augmentation


def shifted_by_hand(image, down, right):
    """`image` [H, W, C] moved by (down, right), zero-filled, pixel by
    pixel."""
    height, width = image.shape[:2]
    moved = np.zeros_like(image)
    for row in range(height):
        for col in range(width):
            if 0 <= row - down < height and 0 <= col - right < width:
                moved[row, col] = image[row - down, col - right]
    return moved


def test_shifts_are_seeded_per_step_and_cover_the_range(examples):
    batcher = inputs.Batcher(*examples, batch_size=5, seed=3, max_shift=2)
    again = inputs.Batcher(*examples, batch_size=5, seed=3, max_shift=2)
    other_seed = inputs.Batcher(*examples, batch_size=5, seed=4, max_shift=2)
    drawn = np.stack([batcher.shifts(step) for step in range(200)])
    assert drawn.shape == (200, 5, 2) and drawn.dtype == np.int64
    assert sorted(np.unique(drawn).tolist()) == [-2, -1, 0, 1, 2]
    # Independent of call order (a resumed run redraws the same shifts).
    for step in [150, 3, 3, 0, 199]:
        np.testing.assert_array_equal(again.shifts(step), drawn[step])
    assert not np.array_equal(other_seed.shifts(0), drawn[0])
    assert not np.array_equal(drawn[0], drawn[1])
    # Drawing shifts leaves the batches as they were.
    plain = inputs.Batcher(*examples, batch_size=5, seed=3)
    for step in range(10):
        np.testing.assert_array_equal(batcher.batch(step)[1],
                                      plain.batch(step)[1])


def test_batcher_rejects_a_negative_shift(examples):
    with pytest.raises(ValueError, match='max_shift must be >= 0, got -1'):
        inputs.Batcher(*examples, batch_size=2, seed=0, max_shift=-1)


def test_shift_images_moves_and_zero_fills(real_mnist):
    import tensorflow as tf
    images = real_mnist.test.images[:9]
    shifts = np.array([[0, 0], [2, 0], [0, -2], [-2, 2], [1, -1], [-1, -2],
                       [2, 2], [-2, -2], [0, 1]], np.int64)
    with tf.Graph().as_default():
        moved = inputs.shift_images(tf.constant(images), tf.constant(shifts),
                                    max_shift=2)
        with tf.compat.v1.Session() as session:
            moved = session.run(moved)
    assert moved.shape == images.shape and moved.dtype == np.float32
    for image, (down, right), result in zip(images, shifts, moved):
        np.testing.assert_array_equal(result,
                                      shifted_by_hand(image, down, right))
    np.testing.assert_array_equal(moved[0], images[0])


@pytest.mark.parametrize('max_shift', [0, 3])
def test_both_pipelines_serve_the_same_shifted_batches(real_mnist, max_shift):
    """What reaches the network, step by step, on the feed and the tf.data
    path, from a fresh start and from a resumed one."""
    import tensorflow as tf
    from resnet_tf1 import config
    model = config.ModelConfig().resolved()
    split = real_mnist.train
    served = {}
    for name, first_step in [('feed', 0), ('dataset', 0), ('dataset', 4)]:
        batcher = inputs.Batcher(split.images[:300], split.labels[:300], 16,
                                 seed=5, max_shift=max_shift)
        with tf.Graph().as_default():
            pipeline = inputs.INPUT_PIPELINES[name](model, max_shift)
            with tf.compat.v1.Session() as session:
                pipeline.start(session, batcher, first_step)
                served[name, first_step] = [session.run(
                    [pipeline.images, pipeline.labels],
                    pipeline.feed_dict(step)) for step in range(first_step, 7)]
    for step, (images, labels) in enumerate(served['feed', 0]):
        raw_images, raw_labels = batcher.batch(step)
        np.testing.assert_array_equal(labels, raw_labels)
        if max_shift:
            expected = [shifted_by_hand(image, *shift) for image, shift in
                        zip(raw_images, batcher.shifts(step))]
        else:
            expected = raw_images
        np.testing.assert_array_equal(images, expected)
        for other in [served['dataset', 0][step]] + (
                [served['dataset', 4][step - 4]] if step >= 4 else []):
            np.testing.assert_array_equal(other[0], images)
            np.testing.assert_array_equal(other[1], labels)
    moved = [not np.array_equal(images, batcher.batch(step)[0])
             for step, (images, _) in enumerate(served['feed', 0])]
    assert all(moved) if max_shift else not any(moved)


# --------------------------------------------------------------------------
# Fuzzing: any file either parses to its declared shape or raises DataError
# (database=None: every run draws fresh examples instead of replaying saved
# ones)


@pytest.fixture(scope='module')
def fuzz_dir():
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory)


def declared_shape(path):
    """The shape the file's own IDX header declares (the file parsed, so it
    is sane)."""
    content = path.read_bytes()
    if content[:2] == b'\x1f\x8b':
        content = gzip.decompress(content)
    ndim = content[3]
    return tuple(int.from_bytes(content[4 + 4 * i:8 + 4 * i],
                                'big') for i in range(ndim))


def check_reader(path, reader, ndim):
    try:
        array = reader(path)
    except errors.DataError as error:
        assert '\n' not in str(error) and str(path) in str(error)
        event('rejected')  # see --hypothesis-show-statistics
        return
    event('parsed')
    assert isinstance(array, np.ndarray) and array.dtype == np.uint8
    assert array.ndim == ndim and array.shape == declared_shape(path)
    if ndim == 1:
        assert (array < 10).all()


mutation = st.tuples(st.sampled_from(['flip', 'truncate', 'insert', 'append']),
                     st.integers(0, 10_000), st.binary(min_size=1, max_size=8))


def mutate(content, mutations):
    content = bytearray(content)
    for kind, position, chunk in mutations:
        position = position % (len(content) + 1)
        if kind == 'flip' and content:
            content[position % len(content)] ^= chunk[0] or 1
        elif kind == 'truncate':
            del content[position:]
        elif kind == 'insert':
            content[position:position] = chunk
        else:
            content += chunk
    return bytes(content)


@settings(max_examples=600, deadline=None, database=None)
@given(content=st.binary(max_size=200), gz=st.booleans(),
       suffix=st.sampled_from(['.gz', '']))
def test_fuzz_random_bytes(fuzz_dir, content, gz, suffix):
    path = fuzz_dir / f'random{suffix}'
    path.write_bytes(gzip.compress(content, mtime=0) if gz else content)
    check_reader(path, mnist.read_idx_images, 3)
    check_reader(path, mnist.read_idx_labels, 1)


@settings(max_examples=1000, deadline=None, database=None)
@given(count=st.integers(0, 4), rows=st.integers(0, 5), cols=st.integers(0, 5),
       seed=st.integers(0, 2**16), raw_mutations=st.lists(mutation,
                                                          max_size=3),
       gz_mutations=st.lists(mutation, max_size=2), gz=st.booleans(),
       suffix=st.sampled_from(['.gz', '']))
def test_fuzz_mutated_images(fuzz_dir, count, rows, cols, seed, raw_mutations,
                             gz_mutations,
                             gz, suffix):
    content = mutate(idx_bytes(random_images(count, rows, cols, seed)),
                     raw_mutations)
    if gz:
        content = mutate(gzip.compress(content, mtime=0), gz_mutations)
    path = fuzz_dir / f'images{suffix}'
    path.write_bytes(content)
    check_reader(path, mnist.read_idx_images, 3)


@settings(max_examples=600, deadline=None, database=None)
@given(count=st.integers(0, 20), seed=st.integers(0, 2**16),
       raw_mutations=st.lists(mutation,
                              max_size=3), gz_mutations=st.lists(mutation,
                                                                 max_size=2),
       gz=st.booleans())
def test_fuzz_mutated_labels(fuzz_dir, count, seed, raw_mutations,
                             gz_mutations, gz):
    content = mutate(idx_bytes(random_labels(count, seed)), raw_mutations)
    if gz:
        content = mutate(gzip.compress(content, mtime=0), gz_mutations)
    path = fuzz_dir / 'labels.gz'
    path.write_bytes(content)
    check_reader(path, mnist.read_idx_labels, 1)
