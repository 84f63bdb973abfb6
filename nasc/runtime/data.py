"""Data sources for child training, named by one string.

    digits          scikit-learn's bundled 8x8 digits (1x8x8, 10 classes; the default)
    cifar10:DIR     the standard `cifar-10-batches-py` pickles (DIR or DIR/cifar-10-batches-py)
    mnist:DIR       the standard IDX files (`train-images-idx3-ubyte[.gz]`, ...)
    folder:DIR      one sub-folder of images per class (needs Pillow)
    ptb:DIR         word-level corpus: `ptb.train.txt`, `ptb.valid.txt`
    nb201:DIR[:DS]  the NAS-Bench-201 table `DIR/nb201.csv`: trials are looked up, not
                    trained (DS: cifar10, cifar100 or imagenet16; see `nasc.runtime.nb201`)

`load_data(source)` returns `ImageData` (images (N, C, H, W), kept as uint8 where
the source has 8-bit pixels and standardized a batch at a time, and (N,) int64
labels, a fixed-seed train/validation split), `TextData` (token id
tensors) or `NB201Data` (a table of accuracies). Nothing is downloaded; a
missing or malformed file is a `NascError`.
"""

from __future__ import annotations

import gzip
import io
import math
import pickle
import struct
import warnings
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasc.errors import NascError
from nasc.runtime.nb201 import NB201Data, load_nb201

SPLIT_SEED = 0  # the train/validation split never depends on the search seed


@dataclass(frozen=True)
class Scale:
    """How compact images (uint8) become a network's input, per channel:
    (x / divisor - mean) / std, the training split's statistics."""

    divisor: float
    mean: torch.Tensor  # (1, C, 1, 1) float32
    std: torch.Tensor  # (1, C, 1, 1) float32

    def __repr__(self) -> str:
        return f"Scale(/{self.divisor:g}, {self.mean.numel()} channels)"

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """`x` (B, C, H, W) of any dtype as float32 network input, on `x`'s device."""
        x = x.float() / self.divisor
        return (x - self.mean.to(x.device)) / self.std.to(x.device)


class ImageData:
    """A labelled image set split into train and validation parts.

    Images are kept as given: float32 network input, or with `scale` compact (uint8,
    a quarter of the memory) and made input a batch at a time (`batch`, `input`).
    `x_train` and `x_valid` are the whole splits as float32 input, made once on first
    use (for user evaluators and `nasc train`); the built-in children never ask for them.
    """

    kind = "cnn"

    def __init__(self, name: str, x_train: torch.Tensor, y_train: torch.Tensor,
                 x_valid: torch.Tensor, y_valid: torch.Tensor, num_classes: int,
                 scale: Scale | None = None) -> None:
        self.name, self.num_classes, self.scale = name, num_classes, scale
        self.stored = {"train": x_train, "valid": x_valid}  # (N, C, H, W), compact or not
        self.y_train, self.y_valid = y_train, y_valid  # (N,) int64
        self._input: dict[str, torch.Tensor] = {}

    def __repr__(self) -> str:
        return (f"ImageData({self.name}: {len(self.y_train)} train, {len(self.y_valid)} valid, "
                f"shape {tuple(self.shape)}, {self.num_classes} classes)")

    @property
    def shape(self) -> tuple[int, int, int]:
        c, h, w = self.stored["train"].shape[1:]
        return int(c), int(h), int(w)

    def input(self, x: torch.Tensor) -> torch.Tensor:
        """Stored images (a batch of them, on any device) as float32 network input."""
        return x if self.scale is None else self.scale.apply(x)

    def batch(self, split: str, index: Any) -> torch.Tensor:
        """Network input for the images `index` (a slice or index tensor) of `split`."""
        return self.input(self.stored[split][index])

    def _whole(self, split: str) -> torch.Tensor:
        if split not in self._input:
            self._input[split] = self.input(self.stored[split])
        return self._input[split]

    @property
    def x_train(self) -> torch.Tensor:
        return self._whole("train")

    @property
    def x_valid(self) -> torch.Tensor:
        return self._whole("valid")


@dataclass
class TextData:
    """A word-level corpus as token ids, with its vocabulary."""

    name: str
    train: torch.Tensor  # (T,) int64
    valid: torch.Tensor  # (V,) int64
    vocab: list[str]
    kind: str = "rnn"

    def __repr__(self) -> str:
        return (f"TextData({self.name}: {len(self.train)} train tokens, {len(self.valid)} valid, "
                f"vocabulary {len(self.vocab)})")


Data = ImageData | TextData | NB201Data


def kind_of(source: str) -> str:
    """"cnn", "rnn" or "nb201" (looked up, not trained): what a data source answers."""
    scheme = source.split(":", 1)[0]
    return {"ptb": "rnn", "nb201": "nb201"}.get(scheme, "cnn")


@lru_cache(maxsize=4)
def load_data(source: str) -> Data:
    """Load the data source named `source` (cached per process)."""
    scheme, _, arg = source.partition(":")
    if scheme == "nb201":  # its argument may end in :DATASET
        return load_nb201(arg)
    loaders = {"digits": _digits, "cifar10": load_cifar10, "mnist": load_mnist,
               "folder": load_folder, "ptb": load_ptb}
    if scheme not in loaders:
        from nasc.runtime.user import is_reference, load_user_data

        if is_reference(source):  # a user's function, module:function
            return load_user_data(source)
        raise NascError(f"unknown data source {source!r}: digits, cifar10:DIR, mnist:DIR, "
                        f"folder:DIR, ptb:DIR, nb201:DIR[:DATASET] or module:function")
    if scheme == "digits" and arg:
        raise NascError(f"data source {source!r}: digits is bundled with scikit-learn and "
                        f"takes no directory (use --data digits)")
    if scheme != "digits" and not arg:
        raise NascError(f"data source {scheme!r} needs a directory: {scheme}:DIR")
    if arg and not Path(arg).is_dir():
        raise NascError(f"{source}: {arg} is not a directory")
    return loaders[scheme](arg) if arg else loaders[scheme]()  # type: ignore[operator]


def split(x: np.ndarray, y: np.ndarray, n_valid: int, name: str, num_classes: int,
          divisor: float = 1.0) -> ImageData:
    """A fixed-seed split into train and the last `n_valid` of a permutation, standardized
    per channel with the training part's statistics of x / `divisor`. Integer images stay
    compact (uint8) and are standardized a batch at a time; others are standardized now."""
    if len(y) < 2:
        raise NascError(f"{name}: needs at least 2 images, found {len(y)}")
    n_valid = max(1, min(n_valid, len(y) - 1))
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    train, valid = order[:-n_valid], order[-n_valid:]
    labels = torch.from_numpy(y.astype(np.int64))
    compact = x.dtype == np.uint8
    xs = x[train].astype(np.float32) / np.float32(divisor)  # (N, C, H, W): the statistics
    mean = xs.mean(axis=(0, 2, 3), keepdims=True)
    std = xs.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    if compact:
        del xs
        pixels = np.ascontiguousarray(x)
        stored = torch.from_numpy(pixels if pixels.flags.writeable else pixels.copy())
        scale = Scale(divisor, torch.from_numpy(mean), torch.from_numpy(std))
        return ImageData(name, stored[train], labels[train], stored[valid], labels[valid],
                         num_classes, scale)
    t = torch.from_numpy(np.ascontiguousarray((x.astype(np.float32) / np.float32(divisor) - mean)
                                              / std))
    return ImageData(name, t[train], labels[train], t[valid], labels[valid], num_classes)


def _valid_size(n: int) -> int:
    return min(5000, max(1, n // 10))


def _digits() -> ImageData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.asarray(bunch.images, dtype=np.uint8)[:, None]  # (1797, 1, 8, 8), values 0..16
    return split(x, np.asarray(bunch.target), 360, "digits", 10, divisor=16.0)


# --- CIFAR-10 ------------------------------------------------------------------
class _SafeUnpickler(pickle.Unpickler):
    """Unpickles only plain containers and numpy arrays: no arbitrary callables."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"),
               ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def safe_unpickle(data: bytes) -> Any:
    """Read a pickle of dicts/lists/numpy arrays; refuses any other global."""
    return _SafeUnpickler(io.BytesIO(data), encoding="bytes").load()


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = safe_unpickle(path.read_bytes())
        data, labels = batch[b"data"], batch[b"labels"]
        x = np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32)
        y = np.asarray(labels, dtype=np.int64).reshape(-1)
    except (OSError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: any failure means "not a batch"
        raise NascError(f"{path}: not a CIFAR-10 batch ({type(exc).__name__}: "
                        f"{str(exc)[:120]})") from None
    if len(y) != len(x):
        raise NascError(f"{path}: {len(x)} images but {len(y)} labels")
    check_labels(y, 10, str(path))
    return x, y


def check_labels(y: np.ndarray, num_classes: int, name: str) -> None:
    """Refuse labels outside 0..num_classes-1 now, not as a failure of every trial."""
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise NascError(f"{name}: labels must be 0-{num_classes - 1}, found "
                        f"{int(y.min())}..{int(y.max())}")


def load_cifar10(directory: str) -> ImageData:
    """CIFAR-10 training batches; 5000 (or 10%) held out for validation."""
    root = Path(directory)
    if (root / "cifar-10-batches-py").is_dir():
        root = root / "cifar-10-batches-py"
    files = sorted(root.glob("data_batch_*"))
    if not files:
        raise NascError(f"cifar10:{directory}: no data_batch_* files found")
    parts = [_cifar_batch(f) for f in files]
    x = np.concatenate([p[0] for p in parts])  # uint8
    y = np.concatenate([p[1] for p in parts])
    return split(x, y, _valid_size(len(y)), f"cifar10:{directory}", 10, divisor=255.0)


# --- MNIST (IDX) ---------------------------------------------------------------
def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or not) as a numpy array of its type and shape."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip
            raise NascError(f"{path}: not a readable gzip file ({exc or type(exc).__name__})"
                            ) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or len(raw) < 4 + 4 * raw[3]:
        raise NascError(f"{path}: not an IDX file")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    code, ndim = raw[2], raw[3]
    if code not in dtypes:
        raise NascError(f"{path}: unknown IDX type code 0x{code:02x}")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dtype = np.dtype(dtypes[code])
    body = raw[4 + 4 * ndim:]
    if len(body) != math.prod(dims) * dtype.itemsize:  # Python ints: no wrap-around
        raise NascError(f"{path}: IDX size does not match its header {dims}")
    return np.frombuffer(body, dtype=dtype).reshape(dims)


def _idx_file(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        if (root / name).is_file():
            return root / name
    raise NascError(f"mnist:{root}: {stem}[.gz] not found")


def load_mnist(directory: str) -> ImageData:
    """MNIST-format training files; 5000 (or 10%) held out for validation."""
    root = Path(directory)
    images = read_idx(_idx_file(root, "train-images-idx3-ubyte"))
    labels = read_idx(_idx_file(root, "train-labels-idx1-ubyte"))
    name = f"mnist:{directory}"
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels) \
            or min(images.shape[1:]) < 1:
        raise NascError(f"{name}: images {images.shape} and labels {labels.shape} do not match")
    if len(labels) < 2:
        raise NascError(f"{name}: needs at least 2 images, found {len(labels)}")
    if labels.dtype.kind not in "iu":
        raise NascError(f"{name}: labels must be integers, the file holds {labels.dtype}")
    if not np.isfinite(images).all():
        raise NascError(f"{name}: images hold NaN or infinite values")
    num_classes = max(2, int(labels.max()) + 1)
    check_labels(labels, num_classes, name)
    x = images[:, None] if images.dtype == np.uint8 else images[:, None].astype(np.float32)
    return split(x, labels.astype(np.int64), _valid_size(len(labels)), name, num_classes,
                 divisor=255.0)


# --- folder of images --------------------------------------------------------
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff"}


def load_folder(directory: str) -> ImageData:
    """DIR/CLASS/*.png...: classes in sorted order; images resized to the first one's size."""
    try:
        from PIL import Image
    except ImportError:
        raise NascError("folder: data needs Pillow (pip install pillow)") from None
    classes = sorted(p for p in Path(directory).iterdir() if p.is_dir())
    if len(classes) < 2:
        raise NascError(f"folder:{directory}: needs at least two class folders")
    images, labels = [], []
    size: tuple[int, int] | None = None
    for label, folder in enumerate(classes):
        paths = [p for p in sorted(folder.iterdir()) if p.suffix.lower() in _IMAGE_SUFFIXES]
        if not paths:  # an empty class would still be an output of every child
            raise NascError(f"folder:{directory}: class folder {folder.name!r} has no images "
                            f"({', '.join(sorted(_IMAGE_SUFFIXES))})")
        for path in paths:
            images.append(_read_image(path, Image, size))
            size = size or (images[-1].shape[1], images[-1].shape[0])
            labels.append(label)
    x = np.stack(images).transpose(0, 3, 1, 2)  # (N, 3, H, W) uint8
    return split(x, np.asarray(labels), _valid_size(len(labels)), f"folder:{directory}",
                 len(classes), divisor=255.0)


def _read_image(path: Path, image_module: Any, size: tuple[int, int] | None) -> np.ndarray:
    """One image as (H, W, 3) uint8, resized to `size` (W, H) when given."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", image_module.DecompressionBombWarning)
            with image_module.open(path) as img:
                rgb = _eight_bit(img, image_module).convert("RGB")
                return np.asarray(rgb.resize(size or rgb.size), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, image_module.DecompressionBombWarning,
            image_module.DecompressionBombError) as exc:  # UnidentifiedImageError is OSError
        raise NascError(f"{path}: not a readable image ({exc})") from None


def _eight_bit(img: Any, image_module: Any) -> Any:
    """16-bit and 32-bit integer images scaled to 8 bits (PIL's convert would clip them)."""
    if img.mode not in ("I", "I;16", "I;16B", "I;16L"):
        return img
    values = np.asarray(img, dtype=np.float64)
    top = 65535.0 if img.mode.startswith("I;16") or values.max() <= 65535 else values.max()
    return image_module.fromarray(np.clip(values / top * 255.0, 0, 255).astype(np.uint8))


# --- PTB ---------------------------------------------------------------------
def _words(path: Path) -> list[str]:
    if not path.is_file():
        raise NascError(f"ptb: {path} {'is not a file' if path.exists() else 'not found'}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise NascError(f"ptb: {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") \
            from None
    out: list[str] = []
    for line in text.splitlines():
        if line.strip():
            out.extend(line.split() + ["<eos>"])
    return out


def load_ptb(directory: str) -> TextData:
    """`ptb.train.txt` / `ptb.valid.txt`; the vocabulary comes from the training file."""
    root = Path(directory)
    train_words = _words(root / "ptb.train.txt")
    valid_words = _words(root / "ptb.valid.txt")
    vocab = sorted(set(train_words) | {"<unk>"})
    index = {w: i for i, w in enumerate(vocab)}
    unk = index["<unk>"]
    train = torch.tensor([index[w] for w in train_words], dtype=torch.int64)
    valid = torch.tensor([index.get(w, unk) for w in valid_words], dtype=torch.int64)
    return TextData(f"ptb:{directory}", train, valid, vocab)
