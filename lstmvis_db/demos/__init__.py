"""The built-in demo projects: the registry (``registry``), the numpy LSTMs that run the committed
weights without torch (``nplstm``), and one builder per demo.

May import the core (``store``, ``types``, ``errors``) and numpy; the core never imports this
package, and the CLI's ``demo`` command and the app's first start are its only users.
"""
