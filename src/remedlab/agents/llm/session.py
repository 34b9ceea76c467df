"""A chat model as one episode uses it: every call recorded in the conversation log, usage and cost
added up, and a budget (tokens or dollars) that stops the episode cleanly once spent."""

from __future__ import annotations

from dataclasses import dataclass

from remedlab.agents.conversation import Conversation
from remedlab.agents.llm.chat import ChatError, ChatModel, Message, Reply, ToolSpec, Usage
from remedlab.agents.llm.pricing import PriceTable


class BudgetExceeded(ChatError):
    """The episode's token or dollar budget is spent; no further call is made."""


@dataclass(frozen=True)
class Budget:
    max_tokens: int | None = None
    max_dollars: float | None = None

    def check(self, usage: Usage, cost: float | None) -> None:
        if self.max_tokens is not None and usage.total >= self.max_tokens:
            raise BudgetExceeded(f"token budget spent: {usage.total} of {self.max_tokens} tokens used")
        if self.max_dollars is not None and cost is not None and cost >= self.max_dollars:
            raise BudgetExceeded(f"dollar budget spent: ${cost:.4f} of ${self.max_dollars:g} used")


class ModelSession:
    def __init__(
        self,
        model: ChatModel,
        log: Conversation,
        budget: Budget | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        self.model = model
        self.log = log
        self.budget = budget or Budget()
        self.prices = prices or PriceTable.load()
        self.usage = Usage()
        self.calls = 0
        self.seconds = 0.0
        if self.budget.max_dollars is not None and self.prices.price_of(model.name) is None:
            raise ChatError(f"--max-dollars needs a price for {model.name!r}: add it to a price file (--prices FILE)")

    @property
    def cost(self) -> float | None:
        return self.prices.cost(self.model.name, self.usage)

    def complete(self, messages: list[Message], tools: list[ToolSpec] | None = None) -> Reply:
        self.budget.check(self.usage, self.cost)
        self.log.add(
            "request",
            model=self.model.name,
            messages=[m.to_openai() for m in messages],
            tools=[t.name for t in tools or []],
        )
        try:
            reply = self.model.complete(messages, tools)
        except ChatError as exc:
            self.log.add("model-error", error=str(exc))
            raise
        self.calls += 1
        self.seconds += reply.seconds
        self.usage = self.usage + reply.usage
        self.log.add(
            "response",
            model=reply.model,
            message=reply.message.to_openai(),
            finish_reason=reply.finish_reason,
            usage=reply.usage,
            seconds=round(reply.seconds, 3),
            attempts=reply.attempts,
        )
        return reply
