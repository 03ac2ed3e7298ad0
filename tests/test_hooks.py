"""The hooks, imported and called directly (they are importable: hooks/__init__.py)."""

import stat

import pytest

from hooks import post_gen_project, pre_gen_project

GOOD_ANSWERS = {
    "project_slug": "billing-gateway",
    "package_name": "billing_gateway",
    "access_token_expire_minutes": "30",
    "refresh_token_expire_days": "7",
}


def test_good_answers_have_no_problems():
    assert pre_gen_project.problems(GOOD_ANSWERS) == []


@pytest.mark.parametrize("package_name", ["1abc", "my-service", "my service", "class", "match", "json", "café", ""])
def test_bad_package_names_are_named_in_the_problem(package_name):
    problems = pre_gen_project.problems({**GOOD_ANSWERS, "package_name": package_name})
    assert len(problems) == 1
    assert repr(package_name) in problems[0]


@pytest.mark.parametrize("slug", ["", "-leading", "has/slash", "..", "Upper", "with space"])
def test_bad_slugs_are_named_in_the_problem(slug):
    [problem] = pre_gen_project.problems({**GOOD_ANSWERS, "project_slug": slug})
    assert repr(slug) in problem


@pytest.mark.parametrize("value", ["0", "-5", "ten", "1.5", ""])
def test_lifetimes_must_be_positive_whole_numbers(value):
    problems = pre_gen_project.problems({**GOOD_ANSWERS, "refresh_token_expire_days": value})
    assert problems == [f"refresh_token_expire_days must be a whole number of at least 1, not {value!r}."]


def test_secret_keys_are_long_and_fresh():
    keys = {post_gen_project.new_secret_key() for _ in range(5)}
    assert len(keys) == 5
    assert all(len(key) >= 43 for key in keys)  # 43 url-safe characters carry 256 bits


def test_env_file_is_private_and_never_overwritten(tmp_path):
    env_path = post_gen_project.write_env_file(tmp_path, "the-key")
    assert "SECRET_KEY=the-key\n" in env_path.read_text()
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        post_gen_project.write_env_file(tmp_path, "another-key")
    assert "SECRET_KEY=the-key\n" in env_path.read_text()


@pytest.mark.parametrize(
    ("use_docker", "ci", "kept", "removed"),
    [
        ("yes", "github-actions", {"Dockerfile", ".dockerignore", ".github"}, set()),
        ("no", "none", set(), {"Dockerfile", ".dockerignore", ".github"}),
        ("no", "github-actions", {".github"}, {"Dockerfile", ".dockerignore"}),
    ],
)
def test_files_of_options_not_taken_are_removed(tmp_path, use_docker, ci, kept, removed):
    (tmp_path / "Dockerfile").write_text("FROM python\n")
    (tmp_path / ".dockerignore").write_text(".env\n")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    post_gen_project.remove_unused_files(tmp_path, use_docker=use_docker, ci=ci)
    assert {path.name for path in tmp_path.iterdir()} == kept
    assert not any((tmp_path / name).exists() for name in removed)
