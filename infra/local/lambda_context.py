"""A Lambda context object for calling the real handlers outside AWS."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

LOCAL_ACCOUNT = "000000000000"
LOCAL_REGION = "eu-west-3"


@dataclass
class LocalContext:
    """Carries what Powertools reads (name, ARN, memory, request id) and a real remaining-time clock."""

    function_name: str
    timeout_seconds: float = 30.0
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
