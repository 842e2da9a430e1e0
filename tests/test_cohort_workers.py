"""A worker killed mid-run does not stop the cohort; results do not depend on the number of workers."""

from __future__ import annotations

import os

import pytest

from test_cohort_helpers import CORRUPT, N_STUDIES, ensure_cohort, fast_settings, local_client

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory):
    from napari_spine_mets.cohort.manifest import load_manifest

    return load_manifest(ensure_cohort(tmp_path_factory.getbasetemp() / "cohort_inputs"))


def test_killing_a_worker_mid_run_still_completes_the_cohort(manifest, tmp_path) -> None:
    from napari_spine_mets.cohort.runner import run_cohort

    client, cluster = local_client(2)
    killed: list[str] = []
    before = set(client.scheduler_info()["workers"])

    def kill_one_busy_worker(done: int, total: int, result) -> None:
        if killed:
            return
        busy = sorted(w for w, keys in client.processing().items() if keys)
        if busy:  # the process dies at once (no cleanup), as in a crash or an OOM kill
            killed.append(busy[0])
            try:
                client.run(os._exit, 1, workers=[busy[0]])
            except Exception:  # noqa: BLE001 - no reply can come from a process that exited
                pass

    try:
        report = run_cohort(manifest, tmp_path, fast_settings(), client=client, on_result=kill_one_busy_worker)
        client.wait_for_workers(2, timeout=180)  # the nanny restarts the killed process (slow on a busy machine)
        after = set(client.scheduler_info()["workers"])
    finally:
        client.close()
        cluster.close()
    assert killed, "no busy worker was found to kill"
    assert killed[0] not in after and after != before, (killed, before, after)  # a new worker process replaced it
    failures = [(r.study_id, r.error_type, r.error_message) for r in report.results if r.status == "failed"]
    # a worker killed after writing its study's done marker but before reporting back: the
    # rescheduled task finds the study complete and reuses it ("skipped"); either way it is done
    assert report.count("done") + report.count("skipped") == N_STUDIES - 1, failures
    assert report.count("done") >= N_STUDIES - 2, [(r.study_id, r.status) for r in report.results]
    assert [f[0] for f in failures] == [CORRUPT], failures
    assert len(list((tmp_path / "studies").glob("*/pipeline_done.json"))) == N_STUDIES - 1


def test_results_are_equal_with_1_and_2_workers(manifest, tmp_path) -> None:
    import pandas as pd

    from napari_spine_mets.cohort.manifest import Manifest
    from napari_spine_mets.cohort.runner import run_cohort

    subset = Manifest(studies=manifest.studies[:5], source=manifest.source, numeric_columns=manifest.numeric_columns,
                      text_columns=manifest.text_columns)
    tables = []
    for n in (1, 2):
        client, cluster = local_client(n)
        try:
            report = run_cohort(subset, tmp_path / f"w{n}", fast_settings(), client=client)
        finally:
            client.close()
            cluster.close()
        assert report.n_workers == n and report.count("done") == 5
        tables.append(pd.read_parquet(tmp_path / f"w{n}" / "cohort.parquet"))
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    assert (tmp_path / "w1" / "cohort.csv").read_bytes() == (tmp_path / "w2" / "cohort.csv").read_bytes()
