"""The built-in demo projects: the registry (``registry``), the numpy LSTMs that run the committed
weights without torch (``nplstm``), the data files and build steps the demos share (``common``),
one builder per demo (``shakespeare`` with its text in ``scenes``, ``parens``, ``chorales``) and
the CLI's ``demo`` command (``cli``).

May import the core (``store``, ``types``, ``errors``) and numpy; the core never imports this
package, and the CLI's ``demo`` command and the app's first start are its only users.
"""
