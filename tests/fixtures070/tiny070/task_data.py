"""Task-data schema of the tiny070 test server (0.7.0's task_data.py convention)."""

from pydantic import BaseModel, ConfigDict, Field


class TaskData(BaseModel):
    model_config = ConfigDict(extra="allow")

    expected_answer: str = Field(json_schema_extra={"consumed_by": ["verify"]})
