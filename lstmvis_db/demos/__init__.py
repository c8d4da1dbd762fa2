"""The built-in demo projects: the registry (``registry``), the numpy LSTMs that run the committed
weights without torch (``nplstm``; whole scenes statefully: ``npstream``), the data files and build
steps the demos share (``common``), one builder per demo (``phrases``, the default, and
``shakespeare``, with their text in ``scenes`` and ``plays``, spaCy's annotations in ``annotate``,
their tracks in ``scenetracks`` and the two sizes in ``sizes``; ``parens``, ``chorales``), the
findings the descriptions state (``findings``) and the CLI's ``demo`` and ``demo-finding``
commands (``cli``).

May import the core (``store``, ``types``, ``errors``), numpy and the public API (``findings``
receives an open project); spaCy only inside ``annotate``'s functions (the optional ``demos``
extra). The core never imports this package, and the CLI's demo commands and the app's first
start are its only users.
"""
