"""Tests of the synthetic renderer: determinism, ground truth, visibility, identities."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from posekit.errors import ConfigError
from posekit.io.synthetic import BodyPlan, SynthSpec, body_plan, render
from posekit.io.synthetic.draw import body_distance, body_parts

DOT = BodyPlan(
    name="dot",
    nodes=("dot",),
    parents=(-1,),
    lengths=(0.0,),
    angles=(0.0,),
    radii=(0.03,),
    start_radii=(0.03,),
    flex=(0.0,),
    shapes=("disc",),
    tones=(1.0,),
    layers=(0,),
)
CLEAN = {
    "noise": 0.0,
    "blur": 0.0,
    "lighting": 0.0,
    "texture": 0.0,
    "occluders": 0,
    "shadows": False,
}


@pytest.fixture(scope="module")
def trio():
    """Three mice with identities (grayscale)."""
    return render(SynthSpec(n_frames=40, n_animals=3, seed=5))


def test_same_seed_is_bit_identical_and_seeds_differ():
    spec = SynthSpec(n_frames=12, n_animals=2, rgb=True, seed=3)
    a, b = render(spec), render(spec)
    assert np.array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.true_points, b.true_points)
    np.testing.assert_array_equal(a.points, b.points)  # NaNs in the same places
    c = render(dataclasses.replace(spec, seed=4))
    assert np.abs(a.images.astype(int) - c.images.astype(int)).mean() > 5.0
    assert np.nanmax(np.abs(a.true_points - c.true_points)) > 10.0


def test_shapes_and_dtypes(trio):
    f, n, k = 40, 3, 8
    assert trio.images.shape == (f, 160, 160, 1) and trio.images.dtype == np.uint8
    assert trio.points.shape == (f, n, k, 2) and trio.points.dtype == np.float32
    assert trio.true_points.shape == (f, n, k, 2) and trio.true_points.dtype == np.float32
    assert trio.track_ids.shape == (f, n) and trio.track_ids.dtype == np.int64
    assert trio.in_frame.shape == trio.occluded.shape == (f, n, k)
    assert not np.isnan(trio.true_points).any()
    assert trio.images.std() > 10  # not a blank frame


def test_rgb_has_three_distinct_channels_and_gray_one():
    rgb = render(SynthSpec(n_frames=4, n_animals=2, rgb=True))
    gray = render(SynthSpec(n_frames=4, n_animals=2, rgb=False))
    assert rgb.images.shape[-1] == 3 and gray.images.shape[-1] == 1
    channels = rgb.images.reshape(-1, 3).astype(float).mean(axis=0)
    assert np.ptp(channels) > 3.0  # a tinted floor and coloured animals, not grey
    # Same motion whatever the colour mode.
    np.testing.assert_array_equal(rgb.true_points, gray.true_points)


@pytest.mark.parametrize("rgb", [False, True])
def test_keypoint_is_intensity_centroid_of_a_dot(rgb):
    """sleap-io convention: the centre of the top-left pixel is (0, 0)."""
    spec = SynthSpec(n_frames=30, skeleton=DOT, rgb=rgb, speed=0.05, seed=2, **CLEAN)
    r = render(spec)
    img = r.images.astype(np.float64).mean(axis=-1)
    floor = np.median(img.reshape(len(img), -1), axis=1)[:, None, None]
    weight = np.clip(img - floor, 0.0, None)
    ys, xs = np.mgrid[: spec.height, : spec.width]
    cx = (weight * xs).sum((1, 2)) / weight.sum((1, 2))
    cy = (weight * ys).sum((1, 2)) / weight.sum((1, 2))
    truth = r.true_points[:, 0, 0].astype(np.float64)
    assert np.ptp(truth[:, 0]) > 5  # the dot moved over many sub-pixel positions
    err = np.hypot(cx - truth[:, 0], cy - truth[:, 1])
    assert err.max() < 0.1


def test_segment_is_drawn_between_its_keypoints():
    """A two-node body's intensity centroid is the midpoint of its two keypoints."""
    stick = BodyPlan(
        name="stick",
        nodes=("a", "b"),
        parents=(-1, 0),
        lengths=(0.0, 0.5),
        angles=(0.0, 0.0),
        radii=(0.06, 0.06),
        start_radii=(0.06, 0.06),
        flex=(0.0, 0.0),
        shapes=("none", "segment"),
        tones=(1.0, 1.0),
        layers=(0, 0),
    )
    r = render(SynthSpec(n_frames=10, skeleton=stick, seed=1, **CLEAN))
    img = r.images[..., 0].astype(np.float64)
    weight = np.clip(img - np.median(img.reshape(10, -1), axis=1)[:, None, None], 0.0, None)
    ys, xs = np.mgrid[:160, :160]
    centroid = (
        np.stack([(weight * xs).sum((1, 2)), (weight * ys).sum((1, 2))], axis=1)
        / weight.sum((1, 2))[:, None]
    )
    mid = r.true_points[:, 0].mean(axis=1)
    length = np.linalg.norm(r.true_points[:, 0, 1] - r.true_points[:, 0, 0], axis=-1)
    np.testing.assert_allclose(length, 0.5 * r.spec.body_length_px, rtol=0.09)
    assert np.abs(centroid - mid).max() < 0.1


def test_points_outside_the_image_are_missing():
    spec = SynthSpec(n_frames=60, n_animals=2, animal_size=0.7, occluders=0, seed=8)
    r = render(spec)
    x, y = r.true_points[..., 0], r.true_points[..., 1]
    outside = (x < -0.5) | (x >= spec.width - 0.5) | (y < -0.5) | (y >= spec.height - 0.5)
    assert outside.any() and (~outside).any()
    np.testing.assert_array_equal(r.in_frame, ~outside)
    assert np.isnan(r.points[outside]).all()
    shown = ~outside & ~r.occluded
    np.testing.assert_array_equal(r.points[shown], r.true_points[shown])


def test_occluded_points_are_missing_and_really_covered():
    base = SynthSpec(
        n_frames=50, n_animals=1, occluders=3, occluder_size=0.3, occluder_prob=1.0, seed=4
    )
    r = render(base)
    bare = render(dataclasses.replace(base, occluders=0))
    np.testing.assert_array_equal(r.true_points, bare.true_points)  # same motion
    hidden = r.occluded & r.in_frame
    assert hidden.sum() >= 5 and (r.in_frame & ~r.occluded).sum() >= 5
    assert np.isnan(r.points[hidden]).all()
    # The pixels under hidden keypoints changed when the occluders were added...
    f, a, k = np.nonzero(hidden)
    col = np.clip(np.rint(r.true_points[f, a, k, 0]).astype(int), 0, 159)
    row = np.clip(np.rint(r.true_points[f, a, k, 1]).astype(int), 0, 159)
    changed = np.abs(r.images[f, row, col, 0].astype(int) - bare.images[f, row, col, 0])
    assert np.median(changed) > 10
    # ...and keeping them shows them: the occluded flag is reported, the point kept.
    kept = render(dataclasses.replace(base, hide_occluded=False))
    assert not np.isnan(kept.points[hidden]).any()
    np.testing.assert_array_equal(kept.occluded, r.occluded)


def test_animals_drawn_on_top_hide_the_keypoints_beneath(trio):
    # Without occluders every occluded keypoint lies under a later (higher) animal.
    r = render(SynthSpec(n_frames=120, n_animals=3, occluders=0, seed=11))
    assert r.occluded.any()
    assert not r.occluded[:, -1].any()  # the top animal is never covered
    assert np.isnan(r.points[r.occluded]).all()


def test_tracks_are_named_and_constant(trio):
    assert trio.track_names == ["animal_0", "animal_1", "animal_2"]
    np.testing.assert_array_equal(trio.track_ids, np.tile([0, 1, 2], (40, 1)))
    single = render(SynthSpec(n_frames=3))
    assert single.track_names == [] and (single.track_ids == -1).all()
    forced = render(SynthSpec(n_frames=3, n_animals=2, tracks=False, identities=True))
    assert forced.track_names == [] and forced.identities.tolist() == [0, 1]


def _body_means(r, node="spine"):
    """Mean pixel around one body node of each animal, over frames where it is clear."""
    k = r.skeleton.node_names.index(node)
    out = []
    for a in range(r.points.shape[1]):
        vals = []
        for f in range(r.images.shape[0]):
            if not r.visible[f, a].all():
                continue
            others = np.delete(r.true_points[f, :, k], a, axis=0)
            p = r.true_points[f, a, k]
            if len(others) and np.min(np.linalg.norm(others - p, axis=-1)) < 40:
                continue
            x, y = round(float(p[0])), round(float(p[1]))
            if not (2 <= x < r.images.shape[2] - 2 and 2 <= y < r.images.shape[1] - 2):
                continue
            vals.append(r.images[f, y - 2 : y + 3, x - 2 : x + 3].reshape(-1, r.images.shape[-1]))
        out.append(np.concatenate(vals).mean(axis=0))
    return np.array(out)


@pytest.mark.parametrize("rgb,margin", [(False, 20.0), (True, 40.0)])
def test_identities_look_different_and_plain_animals_alike(rgb, margin):
    spec = SynthSpec(n_frames=60, n_animals=3, rgb=rgb, occluders=0, seed=6)
    marked = _body_means(render(spec))
    plain = _body_means(render(dataclasses.replace(spec, identities=False)))
    gap = min(np.linalg.norm(marked[i] - marked[j]) for i in range(3) for j in range(i + 1, 3))
    assert gap > margin
    spread = max(np.linalg.norm(plain[i] - plain[j]) for i in range(3) for j in range(3))
    assert spread < margin / 2


def test_left_and_right_ears_differ():
    r = render(SynthSpec(n_frames=30, occluders=0, seed=9))
    left, right = _body_means(r, "left_ear"), _body_means(r, "right_ear")
    assert (right - left).min() > 25.0


def test_skeleton_presets():
    r = render(SynthSpec(n_frames=2))
    sk = r.skeleton
    assert sk.node_names == [
        "nose",
        "head",
        "left_ear",
        "right_ear",
        "neck",
        "spine",
        "tail_base",
        "tail_tip",
    ]
    assert len(sk.edges) == 7
    assert [{n.name for n in s.nodes} for s in sk.symmetries] == [{"left_ear", "right_ear"}]
    fly = render(SynthSpec(n_frames=2, skeleton="fly")).skeleton
    assert fly.node_names == ["head", "thorax", "abdomen", "left_wing", "right_wing"]
    worm = render(SynthSpec(n_frames=2, skeleton="worm", n_nodes=9))
    assert len(worm.skeleton.node_names) == 9 and worm.points.shape[2] == 9
    # A chain's consecutive nodes are one segment length apart.
    gaps = np.linalg.norm(np.diff(worm.true_points[0, 0], axis=0), axis=-1)
    np.testing.assert_allclose(gaps, gaps[0], rtol=1e-5)


def test_motion_is_smooth_and_stays_in_view():
    r = render(SynthSpec(n_frames=300, n_animals=2, occluders=0, seed=12))
    steps = np.linalg.norm(np.diff(r.true_points[:, :, 5], axis=0), axis=-1)
    assert steps.max() < 0.25 * r.spec.body_length_px
    assert steps.mean() > 0.2  # it does move
    assert r.in_frame.mean() > 0.9


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"n_frames": 0},
            ("n_frames: value 0 is out of range; expected a number >= 1 and <= 10000000. The "
             "default is 100."),
        ),
        (
            {"height": 8},
            ("height: value 8 is out of range; expected a number >= 16 and <= 8192. The "
             "default is 160."),
        ),
        (
            {"noise": -1.0},
            ("noise: value -1.0 is out of range; expected a number >= 0 and <= 128. The "
             "default is 5.0."),
        ),
        (
            {"smoothness": 1.0},
            ("smoothness: value 1.0 is out of range; expected a number >= 0 and <= 0.999. The "
             "default is 0.9."),
        ),
        (
            {"skeleton": "mose"},
            ("skeleton: unknown value 'mose'; expected one of mouse, fly, worm. Did you mean "
             "'mouse'?"),
        ),
        (
            {"skeleton": "mouse", "n_nodes": 5},
            ("n_nodes: 5 nodes for the 'mouse' skeleton; expected null or 8. Use skeleton "
             "'worm' for a chain of any length."),
        ),
        (
            {"skeleton": "worm", "n_nodes": 65},
            ("n_nodes: 65 nodes for the 'worm' skeleton; expected 2 to 64. Choose a chain "
             "length such as 6."),
        ),
        (
            {"skeleton": DOT, "n_nodes": 1},
            ("n_nodes: 1 with a custom BodyPlan; expected null (it only sets the length of the "
             "'worm' preset). Remove n_nodes."),
        ),
        (
            {"n_animals": 9, "identities": True},
            ("n_animals: 9 animals with visible identities; expected at most 8 distinct "
             "appearances. Use fewer animals or identities=False (tracks stay available)."),
        ),
        ({"n_frames": 2.5}, "n_frames: got 2.5 (float); expected an integer. The default is 100."),
        (
            {"skeleton": 3},
            "skeleton: got 3 (int); expected a string or a BodyPlan. The default is 'mouse'.",
        ),
    ],
)
def test_bad_specs_raise_config_errors(kwargs, message):
    with pytest.raises(ConfigError) as err:
        SynthSpec(**kwargs)
    assert str(err.value) == f"SynthSpec: {message}"


def test_every_problem_of_a_spec_is_listed():
    with pytest.raises(ConfigError) as err:
        SynthSpec(n_frames=0, width=10_000, fps=0.0, rgb="yes", skeleton="worm", n_nodes=1)
    assert [p.split(":")[0] for p in err.value.problems] == [
        "rgb",
        "n_frames",
        "width",
        "fps",
        "n_nodes",
    ]
    assert str(err.value).startswith("SynthSpec: 5 problems in the configuration:\n")


def test_nine_plain_animals_are_allowed():
    r = render(SynthSpec(n_frames=2, n_animals=9, identities=False))
    assert r.points.shape[1] == 9 and len(r.track_names) == 9


def test_bad_body_plans_raise_config_errors():
    good = body_plan("mouse")
    cases = [
        (
            {"parents": (1, 4, 1, 1, 5, -1, -1, 6)},
            ("skeleton.parents: 2 roots; expected exactly one node with parent -1. Attach the "
             "other nodes to a parent."),
        ),
        (
            {"parents": (1, 0, 1, 1, 5, -1, 5, 6)},
            ("skeleton.parents: the parents contain a cycle; expected a tree. Make every chain "
             "of parents end at the root."),
        ),
        (
            {"parents": (1, 4, 1, 1, 5, -1, 5, 9)},
            "skeleton.parents: index 9 is out of range; expected -1 to 7. Fix the index.",
        ),
        (
            {"tones": (1.0,)},
            ("skeleton.tones: 1 entries for 8 nodes; expected one per node. Give a value for "
             "every node."),
        ),
        (
            {"symmetries": (("left_ear", "tail"),)},
            ("skeleton.symmetries: ('left_ear', 'tail') names the unknown node 'tail'; expected "
             "names from ['nose', 'head', 'left_ear', 'right_ear', 'neck', 'spine', "
             "'tail_base', 'tail_tip']. Fix the node name or remove the pair."),
        ),
        (
            {"nodes": ()},
            "skeleton.nodes: the list is empty; expected at least one value. Add a node.",
        ),
        (
            {"lengths": (0.1,) * 7 + (-0.1,)},
            ("skeleton.lengths: value -0.1 is out of range; expected a number >= 0. Lengths are "
             "fractions of the body length, e.g. 0.2."),
        ),
        (
            {"layers": (0.5,) * 8},
            ("skeleton.layers: got (0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5) (tuple); expected a "
             "list of integers. Give a value of that type."),
        ),
    ]
    for changes, message in cases:
        with pytest.raises(ConfigError) as err:
            dataclasses.replace(good, **changes)
        if changes != {"nodes": ()}:  # no nodes also breaks the per-node lengths
            assert str(err.value) == f"BodyPlan 'mouse': {message}"
        assert message in err.value.problems


def test_every_problem_of_a_body_plan_is_listed():
    with pytest.raises(ConfigError) as err:
        dataclasses.replace(
            body_plan("fly"),
            nodes=("a", "a", "b", "c", "d"),
            shapes=("disc", "blob", "disc", "disc", "disc"),
            radii=(0.1, -1.0, 0.1, 0.1, 0.1),
        )
    assert err.value.problems == [
        ("skeleton.nodes: names are repeated in ('a', 'a', 'b', 'c', 'd'); expected distinct "
         "names. Remove the repeated names."),
        ("skeleton.shapes[1]: unknown value 'blob'; expected one of segment, disc, none. Use "
         "one of these names exactly as written."),
        ("skeleton.radii: value -1.0 is out of range; expected a number >= 0. Radii are "
         "fractions of the body length, e.g. 0.05."),
        ("skeleton.symmetries: ('left_wing', 'right_wing') names the unknown node "
         "'left_wing'; expected names from ['a', 'a', 'b', 'c', 'd']. Fix the node name or "
         "remove the pair."),
    ]
    assert str(err.value).startswith("BodyPlan 'fly': 4 problems in the configuration:")


def test_body_distance_matches_hand_computed_capsule_distances():
    # A stick from (0, 0) to (10, 0) tapering from radius 2 to 4 (body length 20 px).
    stick = BodyPlan(
        name="stick", nodes=("a", "b"), parents=(-1, 0), lengths=(0.0, 0.5),
        angles=(0.0, 0.0), radii=(0.1, 0.2), start_radii=(0.1, 0.1), flex=(0.0, 0.0),
        shapes=("none", "segment"), tones=(1.0, 1.0), layers=(0, 0),
    )  # fmt: skip
    parts = body_parts(stick)
    points = np.array([[[0.0, 0.0], [10.0, 0.0]]])
    query = np.array([[[5.0, 6.0], [5.0, 0.0], [-3.0, 0.0], [10.0, 7.0], [14.0, 3.0]]])
    sd = body_distance(parts, query, points, 20.0)[0]
    # Radius at x=5 is 3; the start cap has radius 2; the end cap radius 4.
    np.testing.assert_allclose(sd, [3.0, -3.0, 1.0, 3.0, 1.0], atol=1e-9)
