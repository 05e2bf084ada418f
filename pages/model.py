"""Model: model cards, the benchmark table and parity plots on the test split."""

import streamlit as st

from app import service, session, widgets
from app.failure import Failure
from gmtnet.kinds import DATASETS, KINDS
from gmtnet.plots import parity_figure

session.page_setup()
service.warm_predictor()
st.title("Trust the model")
st.subheader("The shipped ensembles on the fixed test split")
st.dataframe(service.ensemble_table(), hide_index=True)
st.caption("Each kind ships 5 networks; the prediction is their mean and ±1σ their calibrated spread (σ scale fitted "
           "on the validation split). Within ±1σ: share of test components inside (68 % if calibrated); Spearman: "
           "rank correlation of the scalar uncertainty with the actual error per crystal. Details: each model card "
           "below and benchmarks/results/UNCERTAINTY.md.")
st.subheader("Architectures on the fixed test split (single networks trained on an H100, before the ensembles)")
bench = service.benchmark_table()
if bench is None:
    st.info("benchmarks/results/accuracy.json is missing (run `python benchmarks/accuracy.py evaluate`).")
else:
    st.dataframe(bench, hide_index=True)
    st.caption("Fnorm: mean Frobenius error (ε 3x3, e 3x6, C 6x6 Voigt) in the target's unit; EwT: share of "
               "crystals with relative error under 25/10/5 %; zero/equality: symmetry checks passed.")

# the kinds with a bundled test split (a registered kind without bundled labels has no parity plot)
kind = st.selectbox("Tensor", [n for n, x in KINDS.items() if x.dataset in DATASETS], format_func=lambda k: f"{KINDS[k].symbol} — {KINDS[k].title}", key="m_kind")
k = KINDS[kind]
st.subheader(f"Parity on the test split: {k.symbol} ({k.unit_label})")
points = service.test_predictions(kind)
if isinstance(points, Failure):
    widgets.show_failure(points, "No parity plot")
else:
    st.plotly_chart(
        parity_figure(points["dft"], points["predicted"], labels=(points["material_id"] + " " + points["formula"] + " "
                      + points["component"]).tolist(), unit=k.unit,
                      title=f"{k.symbol}: every Voigt component (IEEE order), ±1σ bars",
                      sigma=points["sigma"] if points["sigma"].notna().all() else None),
        key="m_parity",
    )
    st.caption(f"{points['material_id'].nunique()} test crystals; each point is one Voigt component, in the "
               "structure's frame.")
with st.expander(f"Model card: {kind}", expanded=False):
    st.markdown(service.model_card(kind))
