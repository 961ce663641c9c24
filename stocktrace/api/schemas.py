from typing import Annotated

from ninja import Schema
from pydantic import ConfigDict, Field


class Input(Schema):
    """Request bodies refuse unknown fields, so a typo is an error rather than a silent no-op."""

    model_config = ConfigDict(extra="forbid")


# Ids are bounded so an absurd number answers 422 instead of overflowing the database driver.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]
