"""The task registry: one `Task` per task name, found in the task folders of `keras_bert.tasks`.

A task is a folder `keras_bert/tasks/<name>/` whose `__init__.py` defines `TASK = Task(...)`
(import-light: it names the parts by import path and imports nothing), beside its parts:
`servable.py` (the TF Serving export) and, for tasks that fine-tune, `finetune.py` (dataset
reading, `finetune`, evaluation, predictions). `finetune`, `evaluate`, `export` and `predict`
look tasks up here by name, so adding a task touches one folder.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from functools import cache


@dataclasses.dataclass(frozen=True)
class Task:
    """What the package knows of one task.

    Attributes:
        name: the task's name in every command (`classification`, ...).
        model: `module:Class` of its Keras task model (`task_of` matches saved models by it).
        preprocessor: `module:Class` of its preprocessor layer.
        servable: `module:Class` of its TF Serving servable (a `keras_bert.export.ServableModule`);
            None when the task exports as another (pretraining -> fill-mask).
        finetune: the module with `load_data`, `finetune`, `evaluate_saved` (None: no fine-tuning).
        aliases: older names still accepted (`classify`).
        sequence_length: default tokens per example.
        learning_rate: default peak fine-tuning learning rate.
        description: one line for `--help`.
    """

    name: str
    model: str
    preprocessor: str
    servable: str | None
    finetune: str | None = None
    aliases: tuple[str, ...] = ()
    sequence_length: int = 128
    learning_rate: float = 5e-5
    description: str = ""

    def load(self, part: str):
        """The object a part names (`model`, `preprocessor`, `servable`), imported on demand."""
        module, _, name = getattr(self, part).partition(":")
        return getattr(importlib.import_module(module), name)

    def finetune_module(self):
        if self.finetune is None:
            raise ValueError(f"task {self.name!r} has no fine-tuning")
        return importlib.import_module(self.finetune)


@cache
def tasks() -> dict[str, Task]:
    """Every registered task by name, from the task folders."""
    import keras_bert.tasks as package

    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg:
            task = getattr(importlib.import_module(f"{package.__name__}.{info.name}"), "TASK", None)
            if isinstance(task, Task):
                found[task.name] = task
    return dict(sorted(found.items()))


def names(finetune: bool = False, export: bool = False) -> list[str]:
    """Task names, only those that fine-tune / export when asked."""
    return [n for n, t in tasks().items()
            if (t.finetune or not finetune) and (t.servable or not export)]


def get(name: str) -> Task:
    """The task called `name` (or an alias of it); ValueError naming the known ones otherwise."""
    for task in tasks().values():
        if name == task.name or name in task.aliases:
            return task
    raise ValueError(f"unknown task {name!r}; known: {', '.join(tasks())}")


def task_of(model) -> Task | None:
    """The task whose model class `model` is (first match in the class's MRO), or None."""
    by_class = {}
    for task in tasks().values():
        if task.servable:  # a task a saved model can be exported as
            by_class.setdefault(task.model.partition(":")[2], task)
    return next((by_class[c.__name__] for c in type(model).__mro__ if c.__name__ in by_class), None)
