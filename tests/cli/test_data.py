"""``ember data list`` and ``ember data download`` (against a local server on 127.0.0.1)."""

from __future__ import annotations

from ember.cli import main

from ..data.test_download import server, tiny_mnist  # noqa: F401  (fixtures)


def test_list_names_sources_licences_and_the_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EMBER_CACHE", str(tmp_path))
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for words in ("shipped with ember", "ocr-letters", "CC BY-SA 3.0", "CC BY 4.0", "fashion-mnist", "MIT",
                  f"cache: {tmp_path}", "not downloaded"):
        assert words in out, words


def test_download_verifies_into_the_cache_and_fails_in_one_line(tiny_mnist, server, tmp_path, capsys):  # noqa: F811
    assert main(["data", "download", "mnist", "--kind", "train", "--quiet"]) == 0
    assert f"mnist: verified (sha256) in {tmp_path / 'cache' / 'mnist'}" in capsys.readouterr().out
    assert main(["data", "list"]) == 0 and "mnist" in capsys.readouterr().out
    del server.files["t10k-labels-idx1-ubyte.gz"]
    assert main(["data", "download", "mnist", "--kind", "t10k", "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not download t10k-labels-idx1-ubyte.gz" in err[0] and "HTTP 404" in err[0]
