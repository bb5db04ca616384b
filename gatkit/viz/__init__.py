"""Every figure of the course; needs the ``gatkit[plot]`` extra (matplotlib, igraph).

The numbers live in the core modules, which need no extra; this package draws them:

=============================  =====================================================  ==========
module                         draws                                                  chapter
=============================  =====================================================  ==========
:mod:`gatkit.viz.graphs`       the dataset: :func:`plot_degrees`,                     02
                               :func:`plot_class_balance`, :func:`plot_homophily`,
                               :func:`draw_graph`, :func:`draw_neighbourhood`, and
                               their layouts :func:`graph_layout`,
                               :func:`neighbourhood_layout`
:mod:`gatkit.viz.training`     :func:`plot_learning_curves`                           07
:mod:`gatkit.viz.heterophily`  :func:`plot_attention_gain` across graphs, with its      12
                               numbers :func:`attention_gain`
:mod:`gatkit.viz.attention`    :mod:`gatkit.attention`'s numbers:                     08
                               :func:`draw_attention`,
                               :func:`plot_entropy_histograms`,
                               :func:`plot_attention_ratios`
:mod:`gatkit.viz.embeddings`   :mod:`gatkit.embeddings`' t-SNE and scores:            09
                               :func:`plot_embeddings`, :func:`plot_embedding_panels`
:mod:`gatkit.viz.style`        what they share: :func:`class_colours`,
                               :func:`class_legend`, :func:`figure_and_axes`
=============================  =====================================================  ==========

All of them are available from here: ``from gatkit import viz; viz.plot_degrees(...)``.

Each function returns a :class:`matplotlib.figure.Figure` made with ``pyplot``, so a notebook
shows it with ``plt.show()`` and a script saves it with ``fig.savefig(...)`` (then
``plt.close(fig)``). Functions that draw one panel accept ``ax=`` to draw into an existing axes.

Importing this package without matplotlib raises :class:`gatkit.extras.MissingExtraError` (an
:class:`ImportError`) whose message says ``pip install 'gatkit[plot]'``.
"""

from gatkit.extras import require

require("matplotlib", "plot", feature="gatkit.viz (figures)")

from gatkit.viz.attention import (  # noqa: E402
    WIDTH_PER_UNIT,
    draw_attention,
    plot_attention_ratios,
    plot_entropy_histograms,
)
from gatkit.viz.embeddings import plot_embedding_panels, plot_embeddings  # noqa: E402
from gatkit.viz.graphs import (  # noqa: E402
    draw_graph,
    draw_neighbourhood,
    graph_layout,
    neighbourhood_layout,
    plot_class_balance,
    plot_degrees,
    plot_homophily,
)
from gatkit.viz.heterophily import attention_gain, plot_attention_gain  # noqa: E402
from gatkit.viz.style import class_colours, class_legend, figure_and_axes  # noqa: E402
from gatkit.viz.training import plot_learning_curves  # noqa: E402

__all__ = [
    "WIDTH_PER_UNIT",
    "attention_gain",
    "class_colours",
    "class_legend",
    "draw_attention",
    "draw_graph",
    "draw_neighbourhood",
    "figure_and_axes",
    "graph_layout",
    "neighbourhood_layout",
    "plot_attention_gain",
    "plot_attention_ratios",
    "plot_class_balance",
    "plot_degrees",
    "plot_embedding_panels",
    "plot_embeddings",
    "plot_entropy_histograms",
    "plot_homophily",
    "plot_learning_curves",
]
