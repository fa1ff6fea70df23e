"""Random image views: what each transform may and may not do to an image."""

import torch

from ssvae.augment import STRONG, WEAK, Transform, affine_matrices, augment, change_contrast, cut_out


def _dot(n: int, size: int = 16) -> torch.Tensor:
    """``n`` images of one bright pixel in the middle of a dark square."""
    x = torch.zeros(n, 1, size, size)
    x[:, 0, size // 2, size // 2] = 1.0
    return x


def _centre_of_mass(x: torch.Tensor) -> torch.Tensor:
    size = x.shape[-1]
    grid = torch.arange(size, dtype=x.dtype)
    mass = x.sum((1, 2, 3))
    rows = (x.sum((1, 3)) * grid).sum(-1) / mass
    cols = (x.sum((1, 2)) * grid).sum(-1) / mass
    return torch.stack([rows, cols], -1)


def test_a_transform_of_zero_ranges_is_the_identity():
    x = torch.rand(5, 1, 8, 8)
    torch.testing.assert_close(augment(x, Transform(shift=0.0), flip=False), x)


def test_flip_only_mirrors_left_to_right():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 8, 8)
    views = augment(x, Transform(shift=0.0), flip=True)
    same = (views - x).abs().amax((1, 2, 3)) < 1e-6
    mirrored = (views - x.flip(-1)).abs().amax((1, 2, 3)) < 1e-6
    assert bool((same | mirrored).all()) and 10 < int(mirrored.sum()) < 54  # about half, each one or the other


def test_weak_view_moves_an_image_by_at_most_its_shift_range():
    torch.manual_seed(0)
    x = _dot(256)
    theta = affine_matrices(256, WEAK, flip=False, like=x)
    torch.testing.assert_close(theta[:, :, :2], torch.eye(2).expand(256, 2, 2))  # a pure shift
    assert theta[:, :, 2].abs().max() <= 2 * WEAK.shift
    moved = _centre_of_mass(augment(x, WEAK, flip=False)) - 8.0
    assert moved.abs().max() <= WEAK.shift * 16 + 1e-4
    assert moved.abs().max() > 0.5 * WEAK.shift * 16  # and really moves it
    torch.testing.assert_close(augment(x, WEAK, flip=False).sum((1, 2, 3)), torch.ones(256))  # nothing lost


def test_rotation_scale_and_shear_have_the_geometry_they_are_named_for():
    like = torch.zeros(1)
    torch.manual_seed(0)
    turn = affine_matrices(512, Transform(shift=0.0, rotation=30.0), flip=False, like=like)[:, :, :2]
    torch.testing.assert_close(turn @ turn.transpose(1, 2), torch.eye(2).expand(512, 2, 2))  # orthogonal
    torch.testing.assert_close(torch.linalg.det(turn), torch.ones(512))  # no mirror
    angles = torch.rad2deg(torch.atan2(turn[:, 1, 0], turn[:, 0, 0]))
    assert angles.abs().max() <= 30.0 and angles.min() < -25.0 and angles.max() > 25.0
    grow = affine_matrices(512, Transform(shift=0.0, scale=0.2), flip=False, like=like)[:, :, :2]
    factor = grow[:, 0, 0]  # affine_grid maps output to input coordinates: 1 / scale
    torch.testing.assert_close(grow, torch.diag_embed(torch.stack([factor, factor], -1)))
    assert (1 / factor).min() >= 0.8 and (1 / factor).max() <= 1.2
    assert (1 / factor).min() < 0.85 and (1 / factor).max() > 1.15  # the whole range is drawn, not a fixed scale
    slant = affine_matrices(512, Transform(shift=0.0, shear=0.3), flip=False, like=like)[:, :, :2]
    torch.testing.assert_close(torch.linalg.det(slant), torch.ones(512))  # shear keeps areas
    assert slant[:, 0, 1].abs().max() <= 0.3 and slant[:, 1, 0].abs().max() == 0
    assert slant[:, 0, 1].min() < -0.25 and slant[:, 0, 1].max() > 0.25  # both ways, up to the bound


def test_cut_out_zeroes_one_square_at_most():
    torch.manual_seed(0)
    x = torch.ones(200, 1, 8, 8)
    out = cut_out(x, 0.5)  # half-side 2 pixels: rows and columns within 1 of the centre
    zeros = (out == 0).sum((1, 2, 3))
    assert int(zeros.max()) == 9 and int(zeros.min()) >= 4  # 3x3, clipped at a corner to 2x2
    rows_hit = (out == 0).any(-1).sum(-1).squeeze(1)
    cols_hit = (out == 0).any(-2).sum(-1).squeeze(1)
    assert bool((rows_hit * cols_hit == zeros).all())  # the zeros form a rectangle


def test_strong_view_keeps_shape_dtype_and_range():
    torch.manual_seed(0)
    x = torch.rand(32, 3, 10, 12)
    views = augment(x, STRONG, flip=True)
    assert views.shape == x.shape and views.dtype == x.dtype
    assert float(views.min()) >= 0.0 and float(views.max()) <= 1.0
    assert float((views - x).abs().mean()) > 0.1


def test_contrast_scales_each_image_within_its_own_range():
    # one image, pixels 0, 0.2, 0.4, 0.8, in 2000 copies: each copy is scaled by its own factor in [0.5, 1.5]
    # and clipped to [0, 0.8], so pixel 0.4 becomes min(2 * pixel 0.2's value, 0.8), and 0.8 never grows
    torch.manual_seed(0)
    x = torch.tensor([0.0, 0.2, 0.4, 0.8]).view(1, 1, 2, 2).repeat(2000, 1, 1, 1)
    out = change_contrast(x, 0.5).flatten(1)
    factor = out[:, 1] / 0.2
    assert float(factor.min()) >= 0.5 and float(factor.max()) <= 1.5
    assert float(factor.min()) < 0.55 and float(factor.max()) > 1.45  # the whole range is drawn
    torch.testing.assert_close(out[:, 0], torch.zeros(2000))
    torch.testing.assert_close(out[:, 2], torch.clamp(0.4 * factor, max=0.8))
    torch.testing.assert_close(out[:, 3], torch.clamp(0.8 * factor, max=0.8))


def test_a_mirror_with_a_rotation_is_a_rigid_motion():
    """With no scaling or shear, every matrix has |det| 1, and mirrored ones det -1: a mirror of x, then the
    rotation."""
    torch.manual_seed(0)
    theta = affine_matrices(256, Transform(shift=0.0, rotation=60.0), flip=True, like=torch.zeros(1))
    det = theta[:, 0, 0] * theta[:, 1, 1] - theta[:, 0, 1] * theta[:, 1, 0]
    torch.testing.assert_close(det.abs(), torch.ones(256))
    assert (det < 0).any() and (det > 0).any()


def test_a_shift_moves_images_both_ways_and_brings_in_a_dark_background():
    torch.manual_seed(0)
    moved = _centre_of_mass(augment(_dot(512), WEAK, flip=False)) - 8.0
    for axis in (0, 1):  # rows and columns, each up and down
        assert moved[:, axis].min() < -0.25 and moved[:, axis].max() > 0.25
    views = augment(torch.ones(256, 1, 8, 8), Transform(shift=0.25), flip=False)
    assert float(views.min()) == 0.0  # what comes in from outside the image is 0, not the edge repeated


def test_the_strong_views_contrast_is_applied_and_its_cut_out_moves_about():
    torch.manual_seed(0)
    x = 0.2 + 0.6 * torch.rand(64, 1, 8, 8)
    changed = (augment(x, Transform(shift=0.0, contrast=0.5), flip=False) - x).abs().amax((1, 2, 3))
    assert float(changed.max()) > 0.01  # no other part of this transform changes a pixel
    holes = cut_out(torch.ones(64, 1, 16, 16), 0.25) == 0
    rows, cols = holes.any(-1).squeeze(1).float().argmax(-1), holes.any(-2).squeeze(1).float().argmax(-1)
    assert len(rows.unique()) > 3 and len(cols.unique()) > 3  # a centre of its own for each image
