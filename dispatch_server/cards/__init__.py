"""Printable member cards (issue 13): A4 sheets of cards, each with a member's name, grid,
and the QR code of a one-time enrolment link, for a phone to scan (decision 38).

`face` says what a card says, `fit` makes each line fit its box, `qr` turns a link into
squares, and `sheet` lays the cards out and draws the PDF. Nothing here touches the
database: services/cards.py makes the codes and hands plain data in.
"""
