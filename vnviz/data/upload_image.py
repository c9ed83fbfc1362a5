"""Image uploads (.png, .jpg, .jpeg): PIL with its decompression-bomb guard made an error, as (1, C, H, W) float32.

Pixels are scaled to [0, 1] (16-bit grey by 65535, everything else by 255
after converting to L or RGB).
"""
from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from PIL import Image

from vnviz.data import upload as caps
from vnviz.errors import InputError
from vnviz.i18n import Msg


def read_image(data: bytes, label: str) -> dict[str, torch.Tensor]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(
            "The image {label} declares so many pixels that PIL refuses it as a decompression bomb; vnviz reads "
            "images of at most {cap:,} pixels.",
            label=label, cap=caps.MAX_IMAGE_PIXELS,
        ) from None
    except Exception:  # UnidentifiedImageError, OSError, SyntaxError from a damaged header
        raise InputError("The file {label} is not a PNG or JPEG image that PIL can read.", label=label) from None
    if width * height > caps.MAX_IMAGE_PIXELS:
        raise InputError(
            "The image {label} has {width:,} x {height:,} = {pixels:,} pixels, more than the cap of {cap:,}; downscale "
            "it first.",
            label=label, width=width, height=height, pixels=width * height, cap=caps.MAX_IMAGE_PIXELS,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            if image.mode.startswith("I"):  # 16-bit grey: keep the full range
                pixels = np.asarray(image, dtype=np.float32) / 65535.0
            else:
                image = image.convert("L" if image.mode in ("1", "L", "LA", "La") else "RGB")
                pixels = np.asarray(image, dtype=np.float32) / 255.0
    except Exception:  # OSError "image file is truncated", zlib errors, ... while decoding
        raise InputError("The image {label} is damaged or truncated, so PIL cannot decode its pixels.", label=label) from None
    pixels = np.clip(pixels, 0.0, 1.0)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    x = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None]  # (1, C, H, W)
    return {"x": caps.finish(x, Msg("The image {label}", label=label))}
