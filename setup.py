"""keras-bert: BERT from raw text to a TF Serving endpoint.

Install from the repository (`pip install -e .`). The PyPI name `keras-bert` belongs to an
unrelated older project; never `pip install keras-bert`.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def _requirements(name: str) -> list[str]:
    lines = (HERE / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


setup(
    name="keras-bert-serving",
    version="0.1.0",
    description="BERT in Keras 3: WordPiece, pretraining, fine-tuning and TF Serving export.",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["keras_bert", "keras_bert.*"])
    + ["keras_bert.export"]
    + [f"keras_bert.export.{p}" for p in find_packages("export")],
    package_dir={"keras_bert.export": "export"},
    package_data={"keras_bert": ["resources/*", "resources/**/*"], "keras_bert.export": ["serving/*"]},
    include_package_data=True,
    install_requires=_requirements("requirements.txt"),
    extras_require={"test": _requirements("requirements-test.txt")},
    entry_points={"console_scripts": ["keras-bert=keras_bert.cli:main"]},
)
