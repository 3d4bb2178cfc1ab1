"""tools/mutation_sample.py: which tests a sampled mutant runs against, and the summary of a log."""

import importlib.util
import json
from pathlib import Path

TOOL = Path(__file__).parents[1] / "tools" / "mutation_sample.py"
spec = importlib.util.spec_from_file_location("mutation_sample", TOOL)
ms = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ms)


def test_summary_counts_and_wilson_interval():
    lines = ["KILLED    a.b.c  [1 failed]"] * 9 + ["survived  a.b.d  [5 passed]", "timeout   a.b.e  []", "\n"]
    text = ms.summary(lines)
    assert text.startswith("9 of 10 killed = 90.0 %")
    assert "59.6–98.2 %" in text  # the 95 % Wilson interval of 9/10 (published tables: 0.596, 0.982)
    assert "1 other" in text
    assert ms.summary([]) == "no verdicts"


def test_names_and_test_files_come_from_the_mutants_tree(tmp_path):
    meta = tmp_path / "intake_npx2020" / "store"
    meta.mkdir(parents=True)
    (meta / "serve.py.meta").write_text(json.dumps({"exit_code_by_key": {"intake_npx2020.store.serve.x_f__mutmut_2": None,
                                                                          "intake_npx2020.store.serve.x_f__mutmut_1": 1}}))
    assert ms.mutant_names(str(tmp_path)) == ["intake_npx2020.store.serve.x_f__mutmut_1",
                                              "intake_npx2020.store.serve.x_f__mutmut_2"]
    (tmp_path / "tests").mkdir()
    for f in ("test_store.py", "test_serve.py", "test_formats.py"):
        (tmp_path / "tests" / f).write_text("")
    assert ms.test_files("intake_npx2020.store.serve.x_f__mutmut_1", str(tmp_path)) == \
        ["tests/test_store.py", "tests/test_serve.py"]
    assert ms.test_files("intake_npx2020.formats.phy.x_g__mutmut_1", str(tmp_path)) == ["tests/test_formats.py"]
