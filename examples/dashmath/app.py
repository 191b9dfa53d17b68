"""Dash Arithmetic: the seed's example app. Two numbers, an operator, the result.

Served by gunicorn (see gunicorn.conf.py): `gunicorn app:server`.
"""

from dash import Dash, Input, Output, callback, dcc, html

OPERATORS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "÷": lambda a, b: a / b,
}

app = Dash(__name__, title="Dash Arithmetic")
server = app.server  # the WSGI app gunicorn serves

app.layout = html.Main(
    [
        html.H1("Dash Arithmetic"),
        html.Div(
            [
                dcc.Input(id="left", type="number", value=6, debounce=False),
                dcc.Dropdown(
                    id="operator",
                    options=list(OPERATORS),
                    value="+",
                    clearable=False,
                    # Dash 4 draws the value inside a grid that a shrinking flex item squeezes to
                    # nothing: the dropdown keeps its width, the number inputs give way.
                    style={"width": "6rem", "flex": "0 0 6rem"},
                ),
                dcc.Input(id="right", type="number", value=7, debounce=False),
            ],
            style={"display": "flex", "gap": "0.5rem", "alignItems": "center"},
        ),
        html.H2(["= ", html.Span(id="result")]),
    ],
    style={"fontFamily": "sans-serif", "maxWidth": "30rem", "margin": "2rem auto"},
)


def compute(left, operator, right):
    """The result as shown on the page: a number, `Err` for division by zero, empty while incomplete."""
    if left is None or right is None or operator not in OPERATORS:
        return ""
    try:
        value = OPERATORS[operator](left, right)
    except ZeroDivisionError:
        return "Err"
    return f"{value:g}" if isinstance(value, float) else str(value)


@callback(Output("result", "children"), Input("left", "value"), Input("operator", "value"), Input("right", "value"))
def update_result(left, operator, right):
    return compute(left, operator, right)


if __name__ == "__main__":
    app.run(debug=False, port=8050)
