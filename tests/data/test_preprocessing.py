"""Tests for posekit.data.preprocessing: channels, resize/pad rules and exact coordinates."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from posekit.config import InvalidConfigError
from posekit.config.schema import PreprocessingConfig
from posekit.data.preprocessing import (
    InputTransform,
    PreprocessingParams,
    make_transform,
    output_channels,
    plan_input_size,
    preprocess_frames,
    preprocess_image,
    resize_factor,
    round_up_to_stride,
)
from posekit.errors import ConfigError, DataError

REACHING_SIZES = [(747, 832), (470, 640)]  # (height, width) of the two DLC reaching frame sizes


def blob(height: int, width: int, x: float, y: float, sigma: float) -> np.ndarray:
    """Float image with one Gaussian dot centred at pixel coordinates (x, y)."""
    yy, xx = np.mgrid[0:height, 0:width]
    return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))


def centroid(image: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted centre (x, y) of a non-negative image."""
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    total = image.sum()
    return float((xx * image).sum() / total), float((yy * image).sum() / total)


# --------------------------------------------------------------------------- size rules


def test_plan_input_size_mixed_reaching_sizes():
    assert plan_input_size(REACHING_SIZES, max_stride=16) == (752, 832)
    assert plan_input_size(REACHING_SIZES, max_stride=32) == (768, 832)
    # scale 0.5: 747 * 0.5 = 373.5 -> 374 rows, 832 * 0.5 = 416 cols; stride 32 -> 384 x 416.
    assert plan_input_size(REACHING_SIZES, scale=0.5, max_stride=32) == (384, 416)


def test_plan_input_size_with_canvas_pads_small_frames_and_shrinks_large_ones():
    assert plan_input_size(REACHING_SIZES, max_height=512, max_width=512, max_stride=16) == (
        512,
        512,
    )
    # Canvas in source pixels, then scaled: round(1000 * 0.5) = 500 -> 512 with stride 32.
    assert plan_input_size(
        [(100, 100)], scale=0.5, max_height=1000, max_width=600, max_stride=32
    ) == (512, 320)
    # Only one axis constrained: the width limit shrinks the frame, the height is free.
    assert plan_input_size([(400, 800)], max_width=400) == (200, 400)


def test_resize_factor_rule():
    assert resize_factor(747, 832, scale=1.0, max_height=512, max_width=512) == pytest.approx(
        512 / 832
    )
    assert resize_factor(470, 640, scale=0.5, max_height=1000, max_width=1000) == 0.5
    assert resize_factor(100, 100, scale=2.0, max_height=50) == pytest.approx(1.0)
    assert round_up_to_stride(747, 16) == 752 and round_up_to_stride(752, 16) == 752


def test_make_transform_shrinks_frames_that_do_not_fit_the_model_size():
    t = make_transform(747, 832, model_size=(512, 512))
    assert t.resized_size == (460, 512)  # 747 * 512 / 832 = 459.7 -> 460
    assert t.model_size == (512, 512)
    t = make_transform(470, 640, model_size=(752, 832))
    assert (t.resized_size, t.scale_x, t.scale_y) == ((470, 640), 1.0, 1.0)


PRE = "data_config.preprocessing"
STRIDE_HINT = (
    "It is the backbone's deepest stride (model_config.backbone_config), usually a power of "
    "two such as 16 or 32."
)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 0.0}, (f"{PRE}.scale: value 0.0 is out of range; expected a number > 0. "
                          "The default is 1.0.")),
        ({"scale": "1"}, (f"{PRE}.scale: got '1' (string); expected a number. The default is "
                          "1.0.")),
        ({"max_height": 0}, (f"{PRE}.max_height: value 0 is out of range; expected a number >= "
                             "1. Or set it to null (the default).")),
        ({"max_width": 12.5}, (f"{PRE}.max_width: got 12.5 (float); expected an integer or "
                               "null. Or set it to null (the default).")),
        ({"max_stride": 0}, (f"{PRE}.max_stride: value 0 is out of range; expected a number >= "
                             f"1. {STRIDE_HINT}")),
    ],
)
def test_bad_options_raise_with_field_name(kwargs, message):
    with pytest.raises(ConfigError) as err:
        plan_input_size([(10, 10)], **kwargs)
    assert str(err.value) == f"PreprocessingOptions: {message}"
    with pytest.raises(ConfigError) as err:
        make_transform(10, 10, **kwargs)
    assert str(err.value) == f"PreprocessingOptions: {message}"
    with pytest.raises(ConfigError) as err:
        PreprocessingParams(**kwargs)
    assert str(err.value) == f"PreprocessingParams: {message}"


def test_params_list_every_problem():
    with pytest.raises(InvalidConfigError) as err:
        PreprocessingParams(
            ensure_rgb=True, ensure_grayscale=True, scale=-1, max_width=12.5, max_stride=0
        )
    assert err.value.problems == [
        (f"{PRE}.max_width: got 12.5 (float); expected an integer or null. Or set it to null "
         "(the default)."),
        f"{PRE}.scale: value -1.0 is out of range; expected a number > 0. The default is 1.0.",
        (f"{PRE}: ensure_rgb and ensure_grayscale are both true; expected at most one. Keep the "
         "channel layout your backbone's in_channels expects."),
        f"{PRE}.max_stride: value 0 is out of range; expected a number >= 1. {STRIDE_HINT}",
    ]


def test_params_convert_numbers_to_their_types():
    params = PreprocessingParams(scale=1, max_height=np.int64(600), max_stride=np.int32(16))
    assert type(params.scale) is float and type(params.max_height) is int
    assert type(params.max_stride) is int
    assert params == PreprocessingParams(scale=1.0, max_height=600, max_stride=16)


def test_plan_input_size_needs_sizes():
    with pytest.raises(DataError, match="no image sizes"):
        plan_input_size([])


# ------------------------------------------------------------------- coordinate mapping


def test_to_model_hand_values():
    t = InputTransform(original_size=(470, 640), resized_size=(235, 320), model_size=(240, 320))
    pts = np.array([[0.0, 0.0], [639.0, 469.0], [np.nan, np.nan]])
    out = t.to_model(pts)
    np.testing.assert_allclose(out[:2], [[-0.25, -0.25], [319.25, 234.25]])
    assert np.isnan(out[2]).all()
    t3 = InputTransform(original_size=(10, 10), resized_size=(30, 30), model_size=(32, 32))
    np.testing.assert_allclose(t3.to_model(np.array([[2.0, 5.0]])), [[7.0, 16.0]])


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(8, 1200),
    width=st.integers(8, 1200),
    scale=st.floats(0.1, 3.0),
    max_side=st.one_of(st.none(), st.integers(8, 1500)),
    fx=st.floats(-0.5, 1.0),
    fy=st.floats(-0.5, 1.0),
)
def test_points_survive_preprocess_and_back(height, width, scale, max_side, fx, fy):
    t = make_transform(
        height, width, scale=scale, max_height=max_side, max_width=max_side, max_stride=16
    )
    pts = np.array([[fx * (width - 1), fy * (height - 1)], [np.nan, np.nan]], dtype=np.float64)
    back = t.to_image(t.to_model(pts))
    assert np.abs(back[0] - pts[0]).max() < 0.01
    assert np.isnan(back[1]).all()
    pts32 = torch.tensor(pts, dtype=torch.float32)
    back32 = t.to_image(t.to_model(pts32))
    assert back32.dtype == torch.float32
    assert (back32[0] - pts32[0]).abs().max().item() < 0.01


@settings(max_examples=25, deadline=None)
@given(
    scale=st.floats(0.3, 2.5),
    fx=st.floats(0.3, 0.7),
    fy=st.floats(0.3, 0.7),
    sigma=st.floats(2.5, 4.0),
)
def test_image_feature_lands_on_the_mapped_point(scale, fx, fy, sigma):
    height, width = 61, 83
    x, y = fx * (width - 1), fy * (height - 1)
    image = np.rint(blob(height, width, x, y, sigma) * 255).astype(np.uint8)[None, :, :, None]
    out, t = preprocess_frames(image, scale=scale, max_stride=16)
    mx, my = t.to_model(np.array([x, y]))
    rendered = out[0, 0].astype(np.float64)
    # Weigh only the dot's neighbourhood (the padding is exactly zero anyway).
    r = int(np.ceil(4 * sigma * t.scale_x)) + 1
    x0, y0 = max(round(mx) - r, 0), max(round(my) - r, 0)
    cx, cy = centroid(rendered[y0 : round(my) + r + 1, x0 : round(mx) + r + 1])
    # Exact mapping gives a few hundredths of a pixel (uint8 rounding included); the naive
    # x * scale rule would be off by up to 1 px.
    assert abs(cx + x0 - mx) < 0.06 and abs(cy + y0 - my) < 0.06


def test_bright_pixel_lands_on_mapped_pixel_when_upscaling_by_three():
    image = np.zeros((1, 10, 12, 1), dtype=np.uint8)
    image[0, 4, 7, 0] = 255
    out, t = preprocess_frames(image, scale=3.0)
    row, col = np.unravel_index(int(out[0, 0].argmax()), out.shape[-2:])
    np.testing.assert_allclose(t.to_model(np.array([7.0, 4.0])), [col, row])
    assert (col, row) == (22, 13)


# ---------------------------------------------------------------------------- channels


def test_channel_rules_on_uint8_images():
    rgb = np.zeros((2, 3, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[1, 2] = (10, 20, 30)
    grey, _ = preprocess_image(rgb, ensure_grayscale=True)
    assert grey.shape == (2, 3, 1)
    assert grey[0, 0, 0] == 76  # 0.299 * 255 = 76.2
    assert grey[1, 2, 0] == 18  # 2.99 + 11.74 + 3.42 = 18.15
    single = np.arange(6, dtype=np.uint8).reshape(2, 3)
    rgb3, _ = preprocess_image(single, ensure_rgb=True)
    assert rgb3.shape == (2, 3, 3) and (rgb3 == single[:, :, None]).all()
    kept, _ = preprocess_image(rgb)
    assert kept.shape == (2, 3, 3) and (kept == rgb).all()
    assert output_channels(1, ensure_rgb=True) == 3 and output_channels(3) == 3
    assert output_channels(3, ensure_grayscale=True) == 1


def test_channel_errors():
    with pytest.raises(ConfigError, match="ensure_rgb and ensure_grayscale"):
        preprocess_image(np.zeros((4, 4, 3), np.uint8), ensure_rgb=True, ensure_grayscale=True)
    with pytest.raises(DataError, match="4 channels"):
        preprocess_frames(np.zeros((1, 4, 4, 4), np.uint8), ensure_rgb=True)
    with pytest.raises(DataError, match="uint8"):
        preprocess_frames(np.zeros((1, 4, 4, 1), np.uint16))
    with pytest.raises(DataError, match="uint8"):
        preprocess_image(np.zeros((4, 4), np.float32))
    with pytest.raises(ConfigError, match="ensure_rgb and ensure_grayscale"):
        PreprocessingParams(ensure_rgb=True, ensure_grayscale=True)


# ------------------------------------------------------------------------ resize + pad


def test_padding_is_bottom_right_zeros_and_content_kept():
    rng = np.random.default_rng(0)
    image = rng.integers(1, 256, size=(470, 640, 3), dtype=np.uint8)
    out, t = preprocess_image(image, model_size=plan_input_size(REACHING_SIZES, max_stride=16))
    assert out.shape == (752, 832, 3)
    assert (out[:470, :640] == image).all()
    assert not out[470:].any() and not out[:, 640:].any()
    assert t.to_model(np.array([5.0, 7.0])).tolist() == [5.0, 7.0]


def test_inference_frames_equal_the_cached_training_pixels():
    # Training caches preprocess_image's uint8 output; inference must see the same pixels.
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(47, 64, 3), dtype=np.uint8)
    options = {"scale": 0.6, "max_stride": 8, "ensure_grayscale": True}
    single, t1 = preprocess_image(image, **options)
    batch, t2 = preprocess_frames(image[None], **options)
    assert t1 == t2
    assert single.shape == (32, 40, 1)
    np.testing.assert_array_equal(batch[0].transpose(1, 2, 0), single.astype(np.float32) / 255)


def test_preprocess_frames_accepts_channelless_frames():
    frames = np.random.default_rng(2).integers(0, 256, (3, 20, 30), dtype=np.uint8)
    out, t = preprocess_frames(frames, ensure_rgb=True, max_stride=16)
    assert out.shape == (3, 3, 32, 32) and out.dtype == np.float32
    assert t.resized_size == (20, 30)
    np.testing.assert_allclose(out[:, 1, :20, :30], frames.astype(np.float32) / 255)
    assert not out[:, :, 20:].any() and not out[:, :, :, 30:].any()
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_downscale_is_antialiased_area_like():
    # A fine checkerboard shrunk by 4 must average to grey, not alias to black/white.
    board = (np.indices((64, 64)).sum(0) % 2 * 255).astype(np.uint8)[None, :, :, None]
    out, t = preprocess_frames(board, scale=0.25)
    assert t.resized_size == (16, 16)
    inner = out[0, 0, 2:-2, 2:-2]
    assert np.abs(inner - 0.5).max() < 0.02


def test_params_from_config_and_shortcuts():
    cfg = PreprocessingConfig(ensure_grayscale=True, scale=0.5, max_height=600, max_width=900)
    params = PreprocessingParams.from_config(cfg, max_stride=32)
    assert params == PreprocessingParams(
        ensure_grayscale=True, scale=0.5, max_height=600, max_width=900, max_stride=32
    )
    size = params.plan_input_size(REACHING_SIZES)
    assert size == (320, 480)  # 300 x 450 rounded up to multiples of 32
    image = np.full((747, 832, 3), 200, dtype=np.uint8)
    out, t = params.preprocess_image(image, model_size=size)
    assert out.shape == (320, 480, 1)
    # 747 x 832 fits 600 x 900 after factor min(600/747, 900/832) = 0.803, then * 0.5.
    assert t.resized_size == (300, 334)
    # The grey frame fills the resized area; the padding is zeros.
    assert (out[:300, :334] == 200).all() and not out[300:].any() and not out[:, 334:].any()
    batch, t_batch = params.preprocess_frames(image[None], model_size=size)
    assert batch.shape == (1, 1, 320, 480) and t_batch == t
    np.testing.assert_array_equal(batch[0, 0], out[..., 0].astype(np.float32) / 255)


def test_real_reaching_frames_share_one_input_size(shared_data):
    import cv2

    folder = shared_data / "dlc_reaching" / "labeled-data" / "reachingvideo1"
    paths = sorted(folder.glob("*.png"))
    images = {}
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        images.setdefault(image.shape[:2], image)
    assert set(images) == set(REACHING_SIZES)
    size = plan_input_size(images.keys(), max_stride=16)
    for hw, image in images.items():
        out, t = preprocess_image(image, ensure_grayscale=True, model_size=size, max_stride=16)
        assert out.shape == (*size, 1)
        assert t.resized_size == hw


def test_read_only_frames_are_accepted_without_warning():
    frames = np.full((2, 8, 8, 1), 51, dtype=np.uint8)
    frames.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, _ = preprocess_frames(frames, max_stride=16)
    assert out.shape == (2, 1, 16, 16)
    assert np.abs(out[:, :, :8, :8] - 0.2).max() < 1e-6
