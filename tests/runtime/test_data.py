"""Data sources: real digits, tiny files in the standard formats, a small PTB-format corpus."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from nasc.errors import NascError
from nasc.runtime.data import ImageData, TextData, kind_of, load_data, safe_unpickle

PTB = Path(__file__).resolve().parents[1] / "fixtures" / "ptb-tiny"  # carried by the tests


def test_digits_split_is_fixed_and_disjoint() -> None:
    data = load_data("digits")
    assert isinstance(data, ImageData)
    assert data.shape == (1, 8, 8) and data.num_classes == 10
    assert len(data.y_train) + len(data.y_valid) == 1797 and len(data.y_valid) == 360
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    load_data.cache_clear()
    again = load_data("digits")
    assert torch.equal(again.y_valid, data.y_valid)  # same split every time


def _cifar_batch(path: Path, n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    path.write_bytes(pickle.dumps({b"batch_label": b"training batch", b"labels": labels,
                                   b"data": data}, protocol=2))
    return data, labels


def test_cifar10_reads_standard_batches(tmp_path: Path) -> None:
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    d1, l1 = _cifar_batch(root / "data_batch_1", 12, 1)
    d2, l2 = _cifar_batch(root / "data_batch_2", 8, 2)
    data = load_data(f"cifar10:{tmp_path}")
    assert isinstance(data, ImageData)
    assert data.shape == (3, 32, 32)
    assert len(data.y_train) + len(data.y_valid) == 20
    assert sorted(data.y_train.tolist() + data.y_valid.tolist()) == sorted(l1 + l2)


def test_cifar10_refuses_code_in_pickles(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, ("echo pwned",))

    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(NascError, match="not a CIFAR-10 batch.*refusing to load"):
        load_data(f"cifar10:{tmp_path}")
    with pytest.raises(pickle.UnpicklingError):
        safe_unpickle(pickle.dumps(Evil()))


def _idx(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    return header + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(">u1").tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_idx_files(tmp_path: Path, compress: bool) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(30, 6, 5), dtype=np.uint8)
    labels = np.arange(30, dtype=np.uint8) % 3
    for name, arr in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        raw = _idx(arr)
        if compress:
            (tmp_path / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (tmp_path / name).write_bytes(raw)
    data = load_data(f"mnist:{tmp_path}")
    assert isinstance(data, ImageData)
    assert data.shape == (1, 6, 5) and data.num_classes == 3
    assert len(data.y_valid) == 3 and len(data.y_train) == 27


def test_mnist_truncated_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx(np.zeros((4, 2, 2)))[:-3])
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(np.zeros(4)))
    with pytest.raises(NascError, match="size does not match"):
        load_data(f"mnist:{tmp_path}")


def test_folder_of_images(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    for cls, value in (("cat", 10), ("dog", 200)):
        (tmp_path / cls).mkdir()
        for i in range(5):
            image.fromarray(np.full((4, 4, 3), value + i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    data = load_data(f"folder:{tmp_path}")
    assert isinstance(data, ImageData)
    assert data.shape == (3, 4, 4) and data.num_classes == 2
    assert len(data.y_train) + len(data.y_valid) == 10


def test_ptb_corpus_reads_words_lines_and_unknowns() -> None:
    """The loader on the corpus the tests carry: one id per word plus `<eos>` per line, the
    vocabulary from the training text only, unseen validation words read as `<unk>`."""
    data = load_data(f"ptb:{PTB}")
    assert isinstance(data, TextData)
    train_lines = (PTB / "ptb.train.txt").read_text().splitlines()
    valid_lines = (PTB / "ptb.valid.txt").read_text().splitlines()
    assert len(data.train) == sum(len(line.split()) + 1 for line in train_lines) == 3302
    assert len(data.valid) == sum(len(line.split()) + 1 for line in valid_lines) == 1070
    words = [data.vocab[i] for i in data.train.tolist()]
    assert words[:11] == "its parent noted prices will rise next year on friday <eos>".split()
    assert words.count("<eos>") == 300 and "N" in data.vocab and "<unk>" in data.vocab
    assert data.vocab == sorted(set(words) | {"<unk>"})
    last = [data.vocab[i] for i in data.valid[-8:].tolist()]  # " the zebra said ... N N"
    assert last == ["the", "<unk>", "said", "profit", "rose", "N", "N", "<eos>"]
    assert "zebra" not in data.vocab
    assert kind_of(f"ptb:{PTB}") == "rnn" and kind_of("digits") == "cnn"


@pytest.mark.parametrize("source, message", [
    ("imagenet", "unknown data source 'imagenet'"),
    ("mnist", "needs a directory"),
    ("mnist:/nonexistent/dir", "is not a directory"),
])
def test_bad_sources(source: str, message: str) -> None:
    with pytest.raises(NascError, match=message):
        load_data(source)


@pytest.mark.parametrize(("labels", "message"), [
    ([54] * 4, "labels must be 0-9, found 54..54"),
    ([-1] * 4, "labels must be 0-9, found -1..-1"),
    (None, "not a CIFAR-10 batch \\(TypeError"),
    (["a"] * 4, "not a CIFAR-10 batch \\(ValueError"),
    ([2**70] * 4, "not a CIFAR-10 batch \\(OverflowError"),
])
def test_cifar10_bad_labels_are_refused_before_any_trial(tmp_path: Path, labels: object,
                                                          message: str) -> None:
    data = np.zeros((4, 3072), np.uint8)
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": data, b"labels": labels}))
    with pytest.raises(NascError, match=message):
        load_data(f"cifar10:{tmp_path}")


def _mnist(root: Path, images: bytes, labels: bytes) -> str:
    (root / "train-images-idx3-ubyte").write_bytes(images)
    (root / "train-labels-idx1-ubyte").write_bytes(labels)
    return f"mnist:{root}"


@pytest.mark.parametrize(("images", "labels", "message"), [
    (b"\0\0\x08\x03", _idx(np.zeros(4)), "not an IDX file"),  # dimensions missing
    (struct.pack(">BBBB4I", 0, 0, 8, 4, *[65536] * 4), _idx(np.zeros(4)),
     "size does not match"),  # 2**64 elements: must not wrap around to 0
    (_idx(np.zeros((0, 2, 2))), _idx(np.zeros(0)), "needs at least 2 images, found 0"),
    (_idx(np.zeros((4, 2, 2))), struct.pack(">BBBBI", 0, 0, 0x0D, 1, 4) + b"\x7f\xc0\0\0" * 4,
     "labels must be integers"),
    (gzip.compress(_idx(np.zeros((4, 2, 2))))[:-9], _idx(np.zeros(4)),
     "not a readable gzip file"),
])
def test_mnist_malformed_files_are_one_line(tmp_path: Path, images: bytes, labels: bytes,
                                            message: str) -> None:
    with pytest.raises(NascError, match=message):
        load_data(_mnist(tmp_path, images, labels))


def test_folder_refuses_an_empty_class_and_scales_16_bit_images(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
    wide = np.array([[300, 65535], [32896, 1000]], dtype=np.uint16)  # all over 255
    image.fromarray(wide).save(tmp_path / "a" / "0.png")  # a 16-bit grey PNG
    with pytest.raises(NascError, match="class folder 'b' has no images"):
        load_data(f"folder:{tmp_path}")
    image.fromarray(wide).save(tmp_path / "b" / "0.png")
    data = load_data(f"folder:{tmp_path}")
    pixels = torch.cat([data.x_train, data.x_valid]).std()
    assert pixels > 0.1  # not clipped to one white image (PIL's plain convert would)
