# GMTNet Explorer: the Streamlit app on port 8501, CPU-only by default.
#   docker build -t gmtnet-explorer .
#   docker run --rm -p 8501:8501 gmtnet-explorer
# For a CUDA image, build with --build-arg TORCH_INDEX_URL= (empty: PyPI's default CUDA build).
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true

RUN useradd --create-home --uid 1000 app
WORKDIR /home/app/gmtnet-explorer

# Dependencies first (cached layer); torch from the CPU index unless told otherwise.
COPY requirements.txt .
RUN pip install ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} -r requirements.txt

COPY --chown=app:app . .
RUN pip install --no-deps .

USER app
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"
CMD ["streamlit", "run", "streamlit_app.py", "--server.address=0.0.0.0", "--server.port=8501"]
