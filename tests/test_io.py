import numpy as np
import pytest
import torch

from infogauss.errors import InputError
from infogauss.io import as_embedding_matrix, load_embeddings


@pytest.fixture
def Z(rng):
    return rng.normal(size=(20, 5)).astype(np.float32)


def _one_line_error(call, match):
    with pytest.raises(InputError, match=match) as info:
        call()
    assert "\n" not in str(info.value)
    return str(info.value)


def test_npy_small_and_memory_mapped(tmp_path, Z):
    np.save(tmp_path / "z.npy", Z)
    small = load_embeddings(tmp_path / "z.npy")
    assert not isinstance(small, np.memmap)
    big = load_embeddings(tmp_path / "z.npy", mmap_bytes=0)
    assert isinstance(big, np.memmap)
    assert big.dtype == np.float32
    np.testing.assert_array_equal(small, Z)
    np.testing.assert_array_equal(big, Z)


def test_npz_keys(tmp_path, Z):
    np.savez(tmp_path / "one.npz", emb=Z)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "one.npz"), Z)
    np.savez_compressed(tmp_path / "two.npz", a=Z, b=2 * Z)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "two.npz", key="b"), 2 * Z)
    msg = _one_line_error(lambda: load_embeddings(tmp_path / "two.npz"), "choose one with --key")
    assert "'a'" in msg and "'b'" in msg
    msg = _one_line_error(lambda: load_embeddings(tmp_path / "two.npz", key="c"), "no array named 'c'")
    assert "'a', 'b'" in msg


def test_torch_tensor_and_dict(tmp_path, Z):
    t = torch.from_numpy(Z)
    torch.save(t, tmp_path / "t.pt")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "t.pt"), Z)
    torch.save({"image": t, "text": t.to(torch.bfloat16)}, tmp_path / "d.pth")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "d.pth", key="image"), Z)
    bf = load_embeddings(tmp_path / "d.pth", key="text")
    assert bf.dtype == np.float32
    np.testing.assert_allclose(bf, Z, rtol=1e-2, atol=1e-2)
    _one_line_error(lambda: load_embeddings(tmp_path / "d.pth"), "'image', 'text'")
    _one_line_error(lambda: load_embeddings(tmp_path / "d.pth", key="nope"), "available: 'image', 'text'")


class Box:  # arbitrary Python objects need pickle: weights_only=True refuses them
    pass


def test_torch_refuses_pickled_objects(tmp_path, Z):
    torch.save({"box": Box()}, tmp_path / "obj.pt")
    _one_line_error(lambda: load_embeddings(tmp_path / "obj.pt"), "weights_only")


def test_safetensors(tmp_path, Z):
    from safetensors.numpy import save_file

    save_file({"emb": Z, "other": Z[:, :2].copy()}, str(tmp_path / "z.safetensors"))
    np.testing.assert_array_equal(load_embeddings(tmp_path / "z.safetensors", key="emb"), Z)
    _one_line_error(lambda: load_embeddings(tmp_path / "z.safetensors"), "'emb', 'other'")


@pytest.mark.parametrize("header", [True, False])
def test_csv_with_and_without_header(tmp_path, Z, header):
    path = tmp_path / "z.csv"
    np.savetxt(path, Z, delimiter=",", header="a,b,c,d,e" if header else "", comments="")
    if not header:  # np.savetxt writes an empty first line for header=""
        path.write_text(path.read_text().lstrip("\n"))
    got = load_embeddings(path)
    np.testing.assert_allclose(got, Z.astype(np.float64), rtol=1e-6)
    assert got.shape == Z.shape


def test_csv_non_numeric(tmp_path, Z):
    rows = ["x,label"] + [f"{v},cat" for v in Z[:, 0]]
    (tmp_path / "bad.csv").write_text("\n".join(rows))
    _one_line_error(lambda: load_embeddings(tmp_path / "bad.csv"), "non-numeric column.*'label'")


def test_parquet(tmp_path, Z):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({f"f{i}": Z[:, i] for i in range(Z.shape[1])}), tmp_path / "z.parquet")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "z.parquet"), Z.astype(np.float64))
    pq.write_table(pa.table({"f": Z[:, 0], "name": ["x"] * len(Z)}), tmp_path / "s.parquet")
    _one_line_error(lambda: load_embeddings(tmp_path / "s.parquet"), "non-numeric column.*'name'")


def test_file_errors(tmp_path, Z):
    _one_line_error(lambda: load_embeddings(tmp_path / "missing.npy"), "no such file")
    (tmp_path / "z.txt").write_text("1,2\n")
    _one_line_error(lambda: load_embeddings(tmp_path / "z.txt"), "unknown file type '.txt'")
    (tmp_path / "bad.npy").write_bytes(b"this is not a numpy file at all")
    _one_line_error(lambda: load_embeddings(tmp_path / "bad.npy"), "not a .npy file")
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    _one_line_error(lambda: load_embeddings(tmp_path / "bad.pt"), "bad.pt")
    (tmp_path / "bad.parquet").write_bytes(b"garbage")
    _one_line_error(lambda: load_embeddings(tmp_path / "bad.parquet"), "cannot read the .parquet file")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}] * 10, dtype=object))
    _one_line_error(lambda: load_embeddings(tmp_path / "obj.npy"), "Python objects")
    np.save(tmp_path / "ok.npy", Z)
    _one_line_error(lambda: load_embeddings(tmp_path / "ok.npy", key="x"), "only for .npz")


def test_truncated_npy(tmp_path, Z):
    np.save(tmp_path / "z.npy", Z)
    data = (tmp_path / "z.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[: len(data) - 40])
    _one_line_error(lambda: load_embeddings(tmp_path / "cut.npy"), "cut.npy")
    _one_line_error(lambda: load_embeddings(tmp_path / "cut.npy", mmap_bytes=0), "cut.npy")


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros(20), "2-D"),
        (np.zeros((20, 3, 2)), "2-D"),
        (np.zeros((20, 0)), "zero columns"),
        (np.zeros((7, 3)), "at least 8 rows"),
        (np.array([["a", "b"]] * 10), "numeric"),
        (np.ones((10, 2), dtype=bool), "numeric"),
    ],
)
def test_array_shape_and_type_errors(tmp_path, bad, match):
    _one_line_error(lambda: as_embedding_matrix(bad), match)
    if bad.dtype != object and bad.dtype.kind != "U":
        np.save(tmp_path / "bad.npy", bad)
        _one_line_error(lambda: load_embeddings(tmp_path / "bad.npy"), match)


def test_nonfinite_found_in_later_blocks(tmp_path, rng, monkeypatch):
    import infogauss.io as io

    Z = rng.normal(size=(100, 4))
    Z[77, 2] = np.inf
    np.save(tmp_path / "z.npy", Z)
    monkeypatch.setattr(io, "CHECK_BLOCK_BYTES", 4 * 8 * 10)  # ten rows per block
    msg = _one_line_error(lambda: load_embeddings(tmp_path / "z.npy", mmap_bytes=0), "NaN or Inf")
    assert "row 77" in msg
    Z[77, 2] = np.nan
    _one_line_error(lambda: as_embedding_matrix(Z), "row 77")


def test_min_rows_is_the_statistics_floor():
    from infogauss.io import MIN_ROWS
    from infogauss.stats.validate import MIN_SAMPLES

    assert MIN_ROWS == MIN_SAMPLES


def test_integer_and_torch_inputs(rng):
    ints = rng.integers(-5, 5, size=(12, 3))
    assert as_embedding_matrix(ints) is ints
    t = torch.randn(10, 3, dtype=torch.bfloat16)
    assert as_embedding_matrix(t).dtype == np.float32


def test_safetensors_bfloat16_through_torch(tmp_path, Z):
    from safetensors.torch import save_file

    save_file({"emb": torch.from_numpy(Z).to(torch.bfloat16)}, str(tmp_path / "b.safetensors"))
    got = load_embeddings(tmp_path / "b.safetensors")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, torch.from_numpy(Z).to(torch.bfloat16).float().numpy())


def test_missing_io_extra_is_one_line(tmp_path, monkeypatch, Z):
    import sys

    np.savetxt(tmp_path / "z.csv", Z, delimiter=",")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.csv", None)
    msg = _one_line_error(lambda: load_embeddings(tmp_path / "z.csv"), r"\[io\] extra")
    assert "pip install 'infogauss[io]'" in msg
