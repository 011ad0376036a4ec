"""Write fixtures/phoenix/spans_with_evals.{parquet,csv} the way Phoenix joins span
evaluations to spans (usage: python make_phoenix_evals.py OUT.csv or OUT.parquet, with pandas):
TraceDataset.get_spans_dataframe(include_evaluations=True) is
pd.concat([spans.set_index("context.span_id", drop=False),
           SpanEvaluations(name, df).get_dataframe(prefix_columns_with_name=True)], axis=1)."""

import sys

import pandas as pd

out = sys.argv[1]
spans = pd.DataFrame(
    {
        "name": ["rag", "ChatCompletion", "ChatCompletion"],
        "span_kind": ["CHAIN", "LLM", "LLM"],
        "parent_id": [None, "b000000000000001", "b000000000000001"],
        "start_time": pd.to_datetime(
            ["2025-11-20 12:00:00.000", "2025-11-20 12:00:00.100", "2025-11-20 12:00:02.000"],
            utc=True,
        ),
        "end_time": pd.to_datetime(
            ["2025-11-20 12:00:03.000", "2025-11-20 12:00:01.200", "2025-11-20 12:00:02.900"],
            utc=True,
        ),
        "status_code": ["OK", "OK", "OK"],
        "status_message": ["", "", ""],
        "events": [[], [], []],
        "context.span_id": ["b000000000000001", "b000000000000002", "b000000000000003"],
        "context.trace_id": ["6c8efff798038103d269b633813fc60c"] * 3,
        "attributes.llm.model_name": [None, "gpt-4o-mini", "gpt-4o"],
        "attributes.input.value": ["where is my order?", "where is my order?", "and the refund?"],
        "attributes.output.value": ["It ships tomorrow.", "It ships tomorrow.", "Within 5 days."],
    }
)
hallucination = pd.DataFrame(
    {
        "context.span_id": ["b000000000000002", "b000000000000003"],
        "label": ["factual", "hallucinated"],
        "score": [0.0, 1.0],
        "explanation": ["The answer matches the order record.", "No refund policy says 5 days."],
    }
).set_index("context.span_id")
qa = (
    pd.DataFrame({"span_id": ["b000000000000001"], "label": ["correct"], "score": [1]})
    .set_index("span_id")
    .rename_axis("context.span_id")
)
evals = pd.concat(
    [hallucination.add_prefix("eval.hallucination."), qa.add_prefix("eval.Q&A Correctness.")],
    axis=1,
)
frame = pd.concat([spans.set_index("context.span_id", drop=False), evals], axis=1)
if out.endswith(".csv"):
    frame.to_csv(out)
else:
    frame.reset_index(drop=True).to_parquet(out)
print(frame.columns.tolist())
