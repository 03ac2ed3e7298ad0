"""A wheel of the default project, as the Dockerfile's `pip install .` builds one, carries the files
the service reads at start-up besides its modules: Swagger UI's, which /docs serves."""

import shutil
import zipfile

from .conftest import run


def test_the_wheel_carries_swagger_ui(service_python, default_project, tmp_path):
    project = shutil.copytree(default_project, tmp_path / "project")  # the build writes into the folder
    run([service_python, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp_path / "dist", "."], cwd=project)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"my_service/swagger_ui/{path.name}" for path in (project / "my_service" / "swagger_ui").iterdir()}
    assert {"my_service/swagger_ui/swagger-ui-bundle.js", "my_service/swagger_ui/LICENSE"} <= shipped
    assert shipped <= packed, f"left out of the wheel: {sorted(shipped - packed)}"
