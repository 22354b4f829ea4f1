"""The Streamlit chat UI: an HTTP client of the Mesh Assistant API (it never imports the assistant's layers).

Modules, lowest first (nothing imports upwards):
    client      httpx client of the API, Server-Sent Events parsing, the error types, the JSON shapes
    transcript  the conversation as Markdown (for "Download conversation")
    charts      the ratings heatmap (Altair)
    render      Streamlit pieces: answers, sources, the recommendation card, errors
    app         the page: state, sidebar, chat, the requirements form and the ratings view
"""
