"""LangChain retrieval-augmented generation, traced: retriever (with its documents), prompt,
model and parser spans under one chain, from an in-memory vector store and a fake model.

    python examples/langchain_rag.py && pyflare ingest traces.jsonl && pyflare traces
"""

from __future__ import annotations

import os

import pyflare
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

DOCUMENTS = [
    Document("Refunds are paid within 5 business days.", id="kb-1", metadata={"source": "faq"}),
    Document("Orders ship within 24 hours on weekdays.", id="kb-2", metadata={"source": "faq"}),
    Document("Support is open 9:00-17:00 CET.", id="kb-3", metadata={"source": "hours"}),
]
PROMPT = ChatPromptTemplate.from_messages(
    [("system", "Answer only from this context:\n{context}"), ("human", "{question}")]
)


def build_chain() -> Runnable[str, str]:
    store = InMemoryVectorStore(DeterministicFakeEmbedding(size=16))
    store.add_documents(DOCUMENTS)
    retriever = store.as_retriever(search_kwargs={"k": 2})
    model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(
                    "Refunds are paid within 5 business days.",
                    usage_metadata={"input_tokens": 64, "output_tokens": 9, "total_tokens": 73},
                    response_metadata={"model_name": "gpt-4o-mini", "finish_reason": "stop"},
                )
            ]
        )
    )
    join = RunnableLambda(lambda docs: "\n".join(d.page_content for d in docs), name="join_docs")
    context = {"context": retriever | join, "question": RunnablePassthrough()}
    return (context | PROMPT | model | StrOutputParser()).with_config(run_name="rag_chain")


def main(export: str = "file://traces.jsonl") -> None:
    handle = pyflare.init(service_name="lc-rag", export=export, instrument=["langchain"])
    chain = build_chain()
    with pyflare.attributes(user_id="user-8", feature="faq"):
        print(chain.invoke("How long do refunds take?"))
    handle.shutdown()


if __name__ == "__main__":
    main(os.environ.get("PYFLARE_EXPORT", "file://traces.jsonl"))
