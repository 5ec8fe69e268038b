"""OCenter router: log in, then navigate only among the pages this user's role may open."""

import streamlit as st

from ocenter import ui

st.set_page_config(page_title="Operational Center BPOM", page_icon=":material/dashboard:",
                   layout="wide")

ctx = ui.context()
viewer = ui.login_gate(ctx)
navigation = ui.navigation(viewer)
ui.sidebar(ctx, viewer)
navigation.run()
