import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from cbmil.data.features import index_feature_folder, load_video, read_c3d_txt, segment_pool


def reference_pool(x, n=32):
    """The Sultani/RTFM rule written the slow, obvious way."""
    bounds = np.linspace(0, len(x), n + 1).astype(int)
    return np.stack([x[a:b].mean(0) if b > a else x[a] for a, b in zip(bounds[:-1], bounds[1:])])


@pytest.mark.parametrize("t", [1, 5, 31, 32, 33, 100, 1000])
def test_segment_pool_follows_the_boundary_rule(t):
    x = np.random.default_rng(t).standard_normal((t, 3)).astype(np.float32)
    np.testing.assert_allclose(segment_pool(x), reference_pool(x), rtol=1e-6, atol=1e-6)


def test_segment_pool_edge_cases():
    one = np.arange(4, dtype=np.float32)[None]
    assert np.array_equal(segment_pool(one), np.repeat(one, 32, axis=0))  # T = 1: the snippet 32 times
    x = np.arange(32 * 2, dtype=np.float32).reshape(32, 2)
    assert np.array_equal(segment_pool(x), x)  # T = 32: unchanged
    long = np.arange(64, dtype=np.float32)[:, None]
    assert segment_pool(long)[0, 0] == 0.5  # T = 64: pairs averaged
    assert segment_pool(np.zeros((7, 10, 4))).shape == (32, 10, 4)  # crops pooled along time only
    with pytest.raises(ValueError, match="T >= 1"):
        segment_pool(np.zeros((0, 4)))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 300), st.integers(1, 40))
def test_segment_pool_property(t, n):
    x = np.random.default_rng(t).standard_normal((t, 2))
    pooled = segment_pool(x, n)
    assert pooled.shape == (n, 2)
    np.testing.assert_allclose(pooled, reference_pool(x, n), rtol=1e-5, atol=1e-5)
    assert pooled.min() >= x.min() - 1e-5 and pooled.max() <= x.max() + 1e-5  # means stay in range


def test_every_layout_reads_as_t_c_d(tmp_path):
    rng = np.random.default_rng(0)
    ten = rng.standard_normal((7, 10, 5)).astype(np.float32)
    np.save(tmp_path / "Abuse001_x264_i3d.npy", ten)
    for k in range(10):
        np.save(tmp_path / f"Arson002_x264__{k}.npy", ten[:, k])
    np.save(tmp_path / "Normal_Videos003_x264.npy", ten[:, 0].astype(np.float64))
    np.savetxt(tmp_path / "Explosion004_x264.txt", ten[:, 0])
    sources = index_feature_folder(tmp_path)
    assert {k: s.layout for k, s in sources.items()} == {
        "Abuse001_x264": "ten_crop", "Arson002_x264": "per_crop",
        "Normal_Videos_003_x264": "plain", "Explosion004_x264": "c3d"}
    assert np.array_equal(load_video(sources["Abuse001_x264"]), ten)
    assert np.array_equal(load_video(sources["Arson002_x264"]), ten)
    plain = load_video(sources["Normal_Videos_003_x264"])
    assert plain.dtype == np.float32 and plain.shape == (7, 1, 5)
    np.testing.assert_allclose(load_video(sources["Explosion004_x264"])[:, 0], ten[:, 0], atol=1e-6)
    for key, src in sources.items():
        assert src.shape() == load_video(src).shape, key


def test_bad_features_name_the_file(tmp_path):
    x = np.ones((4, 6), dtype=np.float32)
    x[2, 3] = np.nan
    np.save(tmp_path / "Abuse001_x264.npy", x)
    (tmp_path / "Abuse002_x264.npy").write_bytes(b"not a numpy file")
    np.save(tmp_path / "Abuse003_x264.npy", np.ones((4, 6), dtype=np.float32))
    sources = index_feature_folder(tmp_path)
    with pytest.raises(ValueError, match=r"Abuse001_x264\.npy.*NaN/Inf"):
        load_video(sources["Abuse001_x264"])
    with pytest.raises(ValueError, match=r"Abuse002_x264\.npy.*unreadable"):
        load_video(sources["Abuse002_x264"])
    with pytest.raises(ValueError, match=r"Abuse003_x264\.npy.*expected D = 2048"):
        load_video(sources["Abuse003_x264"], dim=2048)


def test_c3d_text_with_a_short_line_names_the_line(tmp_path):
    path = tmp_path / "Abuse001_x264.txt"
    path.write_text("1 2 3\n4 5 6\n7 8\n")
    with pytest.raises(ValueError, match=r"line 3: 2 values; expected 3"):
        read_c3d_txt(path)


def test_incomplete_per_crop_set_and_double_layouts_are_errors(tmp_path):
    np.save(tmp_path / "Abuse001_x264__0.npy", np.ones((3, 2)))
    np.save(tmp_path / "Abuse001_x264__2.npy", np.ones((3, 2)))
    with pytest.raises(ValueError, match="expected crops 0..1"):
        index_feature_folder(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    np.save(other / "Abuse001_x264_i3d.npy", np.ones((3, 10, 2)))
    np.save(other / "Abuse001_x264.npy", np.ones((3, 2)))
    with pytest.raises(ValueError, match="more than one feature file"):
        index_feature_folder(other)
